package fixture

var _ = "only_in_testdata"
