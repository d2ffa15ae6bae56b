# The two commands of README.md. Each installs what it needs first (idempotent).
.PHONY: demo test test-fast clean
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
test-fast:
	bash scripts/test.sh --no-sanitize
clean:
	rm -rf build build-asan
