package h

var _ = "only_in_hidden"
