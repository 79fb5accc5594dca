package cli

import (
	"strings"
	"testing"
)

// TestValidateFlavor: a misspelt event type fails validate --kind lxd with or
// without a flavour; --flavor also refuses the types and lifecycle actions
// the flavour does not define, and says which.
func TestValidateFlavor(t *testing.T) {
	ev := func(typ, md string) string {
		return `{"type":"` + typ + `","timestamp":"2026-11-21T05:26:49.189045872Z","location":"none","metadata":` + md + "}\n"
	}
	lc := func(action string) string {
		return ev("lifecycle", `{"action":"`+action+`","source":"/1.0/profiles/web","requestor":{"address":"@","protocol":"unix","username":"root"}}`)
	}
	ovn := ev("ovn", `{}`)
	tests := []struct {
		name   string
		in     string
		flavor string
		code   ExitCode
		want   string // in stdout
	}{
		{"misspelt type, no flavour", ev("lifecyle", `{}`), "", ExitFailed, `<stdin>:1: type: type must be one of the following: "logging", "operation", "lifecycle", "ovn", "security"`},
		{"misspelt type, lxd-5.0", ev("lifecyle", `{}`), "lxd-5.0", ExitFailed, "<stdin>:1: type: "},
		{"ovn, no flavour", ovn, "", ExitOK, ""},
		{"ovn on lxd-6", ovn, "lxd-6", ExitOK, ""},
		{"ovn on lxd-5.0", ovn, "lxd-5.0", ExitFailed, `<stdin>:1: type: "ovn" is not an event type of lxd-5.0, must be one of logging, operation, lifecycle`},
		{"security on incus", ev("security", `{}`), "incus", ExitFailed, `"security" is not an event type of incus`},
		{"known action", lc("profile-created"), "lxd-5.0", ExitOK, ""},
		{"unknown action, no flavour", lc("profile-teleported"), "", ExitOK, ""},
		{"unknown action, lxd-5.0", lc("profile-teleported"), "lxd-5.0", ExitFailed, `<stdin>:1: metadata.action: "profile-teleported" is not a lifecycle action of lxd-5.0`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"validate", "--kind", "lxd", "-"}
			if tc.flavor != "" {
				args = append(args, "--flavor", tc.flavor)
			}
			out, errOut, code := run(t, tc.in, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, out, errOut)
			}
			if tc.want == "" && out != "" || !strings.Contains(out, tc.want) {
				t.Errorf("stdout %q, want %q", out, tc.want)
			}
		})
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"validate", "--kind", "linode", "--flavor", "lxd-5.0", "-"}, "--flavor applies to --kind lxd only"},
		{[]string{"validate", "--kind", "lxd", "--flavor", "lxd-4", "-"}, `invalid flavor "lxd-4", must be one of lxd-5.0, lxd-6, incus`},
	} {
		_, errOut, code := run(t, "", c.args...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}
