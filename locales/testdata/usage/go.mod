module example.com/usage

go 1.26
