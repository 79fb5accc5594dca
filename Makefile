GO ?= go
BIN ?= bin/eventsim

.PHONY: build test bench lint run fuzz

build:
	$(GO) build -o $(BIN) ./cmd/eventsim

# The test command of the README and of CI.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) test -run '^$$' -fuzz '^FuzzEngine$$' -fuzztime 20s ./scenarios

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 5 ./...

lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l . && echo "gofmt would change the files above" && exit 1)
	$(GO) vet ./...

run: build
	./$(BIN) serve

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s ./scenarios
	$(GO) test -run '^$$' -fuzz '^FuzzEngine$$' -fuzztime 2m ./scenarios
