# Shortcuts for ./run, which creates the virtual environment on first use.
.PHONY: demo test bench
demo:
	./run demo
test:
	./run test
bench:
	./run bench pipeline
