package locales

var _ = "used_in_locales_code"
