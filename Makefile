# The two commands of trickle: `make dev` runs the whole system locally, `make test` runs every
# test. Both set up what they need on a fresh machine (Rust toolchain and Python 3 required).

.PHONY: dev test install lint fmt package bench-cold-start clean

## Run the whole system locally on embedded defaults (TRICKLE_* variables or flags configure it).
dev:
	cargo run -p trickle -- dev

## Run every test (installs and starts the moto AWS emulator itself).
test:
	scripts/test

## Put the `trickle` command on the PATH (in ~/.cargo/bin, where rustup already points PATH).
install:
	cargo install --locked --path cli

## Formatting, clippy and the template lint, as CI runs them.
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	scripts/lint-template

fmt:
	cargo fmt --all

## Build every Lambda function for arm64 with cargo-lambda (installed from PyPI into .venv).
package:
	scripts/package

## Cold start, first invocation and peak memory of every function (release build, on moto).
bench-cold-start:
	cargo build --release --workspace --bins
	scripts/with-moto target/release/cold_start_bench

clean:
	cargo clean
	rm -rf .venv .aws-sam
