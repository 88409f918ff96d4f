package app

var _ = "used_in_other_test"
