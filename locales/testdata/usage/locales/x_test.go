package locales

var _ = "only_in_locales_test"
