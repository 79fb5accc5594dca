package linode

// writeRoutes are the writes the account takes (writes.go).
var writeRoutes []writeRoute
