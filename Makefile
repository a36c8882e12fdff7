# The two commands of the README, plus helpers.
.PHONY: test demo bench

test:
	scripts/test.sh

demo:
	cd examples && go run ./gin

bench:
	cd core && go test -run '^$$' -bench . -benchmem
