package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/schemas"
)

// checkValidateFlavor refuses --flavor where it means nothing or names no flavour.
func checkValidateFlavor(opts *ValidateOptions) error {
	if opts.Flavor == "" {
		return nil
	}
	if opts.Kind != "lxd" {
		return usageErr("--flavor applies to --kind lxd only, got --kind %s", opts.Kind)
	}
	if _, err := catalog.ParseFlavor(opts.Flavor); err != nil {
		return &UsageError{Err: err}
	}
	return nil
}

// flavorCheck returns what validate runs on each record: the schema, then,
// with a flavour, its event types and lifecycle actions.
func flavorCheck(v *schemas.Validator, flavor string) (func([]byte) error, error) {
	if flavor == "" {
		return v.Validate, nil
	}
	f, err := catalog.ParseFlavor(flavor)
	if err != nil {
		return nil, err
	}
	cat, err := catalog.LXD(f)
	if err != nil {
		return nil, err
	}
	types := events.LXDTypes[string(f)]
	return func(doc []byte) error {
		if err := v.Validate(doc); err != nil {
			return err
		}
		var ev struct {
			Type     string `json:"type"`
			Metadata struct {
				Action string `json:"action"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(doc, &ev); err != nil {
			return err
		}
		known := false
		for _, t := range types {
			known = known || t == ev.Type
		}
		if !known {
			return fmt.Errorf("type: %q is not an event type of %s, must be one of %s", ev.Type, f, strings.Join(types, ", "))
		}
		if ev.Type == events.LXDTypeLifecycle && cat.Action(ev.Metadata.Action) == nil {
			return fmt.Errorf("metadata.action: %q is not a lifecycle action of %s", ev.Metadata.Action, f)
		}
		return nil
	}, nil
}
