package catalog

import (
	"net/url"
	"strings"
)

// The request script of an LXD action beyond its lifecycle event: whether
// an operation runs it (LXDAction.Operation), and which resources that
// operation names. The scenario engine and the fake's REST handlers both
// read it here, so a played verb and the same REST request make the same
// event group (simulator/lxd's TestVerbAndRESTMakeTheSameEvents holds them
// to it).

// LXDOperation returns the description of the operation that runs an
// action, whether or not a flavour's catalogue has the action (LXD 5.0.2
// evacuates cluster members with no lifecycle event), or "" for an action
// a synchronous request makes.
func LXDOperation(action string) string { return lxdOperations[action] }

// LXDMemberStatusAfter returns the status a cluster member is in once an
// operation with this description has succeeded on it ("Evacuated" after
// "Evacuating cluster member", "Online" after "Restoring cluster member"),
// or "" for operations that leave members alone. LXD 5.0.2 evacuates and
// restores with no lifecycle event, only the operation (recorded: resources
// null, location the member, which the request is forwarded to), yet its
// member's status changes; later daemons send cluster-member-evacuated and
// -restored too, which say the same.
func LXDMemberStatusAfter(description string) string { return lxdMemberStatusAfter[description] }

var lxdMemberStatusAfter = map[string]string{
	"Evacuating cluster member": "Evacuated",
	"Restoring cluster member":  "Online",
}

// LXDCascade returns the action a daemon emits for each child of an object,
// before the action that deletes the object, or "": deleting an instance
// deletes its snapshots first (instance-snapshot-deleted for each, recorded
// from LXD 5.0.2 and Incus 6.0), deleting a custom volume its snapshots
// (the reference capture).
func LXDCascade(action string) string { return lxdCascade[action] }

var lxdCascade = map[string]string{
	"instance-deleted":       "instance-snapshot-deleted",
	"storage-volume-deleted": "storage-volume-snapshot-deleted",
}

// OperationResources returns the resources of the operation that runs an
// action, as the flavour's daemon renders them: "/1.0/KIND/NAME" with
// "?project=P" outside the default project, or nil when the operation
// names none. names are the object's names before the request (a rename's
// old name), keyed as the action's source placeholders; a custom volume's
// name is its bare name, not LXD 5.0.2's PROJECT_NAME.
//
// The facts: LXD 5.0.2 names an instance under containers and instances
// when it is created, updated, restored, renamed, deleted or snapshotted,
// and under instances only for state changes; deleting a snapshot names
// "INSTANCE/SNAP" in place of the instance. Incus names instances only,
// and snapshot operations add instances_snapshots; Incus names volume
// snapshots and backups by their pool paths. LXD 5.0.2 names an instance
// backup's deletion {"container": …} and a volume backup's {"volume": …}.
// (Recorded from the real daemons in simulator/lxd/testdata/real-*.json
// and the reference capture.)
func (c *LXDCatalog) OperationResources(action string, names map[string]string, project string) map[string][]string {
	u := func(kind string, parts ...string) []string {
		for i, p := range parts {
			parts[i] = url.PathEscape(p)
		}
		return withQuery("/1.0/"+kind+"/"+strings.Join(parts, "/"), project)
	}
	switch {
	case strings.HasPrefix(action, "instance-snapshot-"):
		inst, snap := names["instance"], names["name"]
		if c.Flavor == Incus {
			return map[string][]string{"instances": u("instances", inst), "instances_snapshots": u("instances", inst, "snapshots", snap)}
		}
		if action == "instance-snapshot-deleted" {
			return map[string][]string{"containers": u("containers", inst, snap), "instances": u("instances", inst, snap)}
		}
		return map[string][]string{"containers": u("containers", inst), "instances": u("instances", inst)}
	case strings.HasPrefix(action, "instance-backup-"):
		inst := names["instance"]
		if c.Flavor == Incus {
			if action == "instance-backup-created" {
				return map[string][]string{"backups": u("instances", inst, "backups", names["name"]), "instances": u("instances", inst)}
			}
			return map[string][]string{"instances": u("instances", inst)}
		}
		switch action {
		case "instance-backup-created":
			return map[string][]string{"backups": u("backups", names["name"]), "containers": u("containers", inst), "instances": u("instances", inst)}
		case "instance-backup-deleted":
			return map[string][]string{"container": u("container", inst)}
		}
		return map[string][]string{"containers": u("containers", inst), "instances": u("instances", inst)}
	case strings.HasPrefix(action, "instance-"):
		name := names["name"]
		switch action {
		case "instance-created", "instance-updated", "instance-renamed", "instance-deleted", "instance-restored":
			if c.Flavor != Incus {
				return map[string][]string{"containers": u("containers", name), "instances": u("instances", name)}
			}
		}
		return map[string][]string{"instances": u("instances", name)}
	case strings.HasPrefix(action, "storage-volume-snapshot-") && c.Flavor == Incus:
		vol := "/1.0/storage-pools/" + url.PathEscape(names["pool"]) + "/volumes/custom/" + url.PathEscape(names["volume"])
		return map[string][]string{"storage_volume_snapshots": u("storage-pools", names["pool"], "volumes", "custom", names["volume"], "snapshots", names["name"]), "storage_volumes": withQuery(vol, project)}
	case action == "storage-volume-snapshot-created":
		return map[string][]string{"storage_volumes": u("storage_volumes", names["volume"])}
	case strings.HasPrefix(action, "storage-volume-snapshot-"):
		return map[string][]string{"storage_volume_snapshots": u("storage_volume_snapshots", names["volume"])}
	case strings.HasPrefix(action, "storage-volume-backup-") && c.Flavor == Incus:
		vol := "/1.0/storage-pools/" + url.PathEscape(names["pool"]) + "/volumes/custom/" + url.PathEscape(names["volume"])
		return map[string][]string{"backups": withQuery(vol+"/backups/"+url.PathEscape(names["name"]), project), "storage_volumes": withQuery(vol, project)}
	case action == "storage-volume-backup-created":
		return map[string][]string{"backups": u("backups", names["name"]), "storage_volumes": u("storage_volumes", names["volume"])}
	case strings.HasPrefix(action, "storage-volume-backup-"):
		return map[string][]string{"volume": u("volume", names["volume"])}
	case action == "image-deleted":
		return map[string][]string{"images": u("images", names["name"])}
	case action == "cluster-member-added":
		return map[string][]string{"cluster": u("cluster", names["name"])}
	}
	return nil
}

// withQuery is a resource URL, with ?project=P outside the default project.
func withQuery(s, project string) []string {
	if project != "" && project != "default" {
		s += "?project=" + url.QueryEscape(project)
	}
	return []string{s}
}
