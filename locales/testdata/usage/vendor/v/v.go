package v

var _ = "only_in_vendor"
