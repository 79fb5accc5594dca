package cli

// ServeRun is serveRun for the external tests: `serve` without the binary.
var ServeRun = serveRun
