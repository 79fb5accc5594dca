package scenarios

import (
	"fmt"
	"sort"
	"strings"
)

// VerbSpec says which arguments a verb takes and which it needs.
type VerbSpec struct {
	Args     []string
	Required []string
	// Doc is one line for `eventsim scenarios verbs` and docs/scenarios.md.
	Doc string
}

// argTypes says how each argument of each API is written.
var argTypes = map[string]map[string]argType{
	"lxd": {
		"name": argString, "project": argString, "member": argString, "type": argString,
		"pool": argString, "to": argString, "snapshot": argString, "command": argStrings,
		"path": argString, "alias": argString, "network": argString, "zone": argString,
		"fail": argString, "requestor": argMap, "action": argString, "names": argMap,
		"context": argMap, "took": argDuration, "backup": argString, "image": argString,
		"size": argInt, "external": argBool,
	},
	"linode": {
		"label": argString, "target": argString, "action": argString, "fail": argString,
		"async": argBool, "took": argDuration, "username": argString, "message": argString,
		"region": argString, "plan": argString, "image": argString, "size": argInt,
		"entity": argMap, "secondary": argMap,
	},
}

func argNames(api string) []string { return sortedKeys(argTypes[api]) }

var (
	common   = []string{"project", "member", "fail", "requestor", "took", "external"}
	instArgs = append([]string{"name"}, common...)
)

func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// LXDVerbs are the high-level LXD verbs a scenario step may name. Each expands
// into the events a real daemon emits for that request.
var LXDVerbs = map[string]VerbSpec{
	"instance.create":                {Args: with(instArgs, "type", "pool", "image", "size"), Doc: "create an instance (stopped)"},
	"instance.start":                 {Args: instArgs, Doc: "start a stopped instance"},
	"instance.stop":                  {Args: instArgs, Doc: "stop a running instance"},
	"instance.restart":               {Args: instArgs, Doc: "restart a running instance"},
	"instance.pause":                 {Args: instArgs, Doc: "freeze a running instance"},
	"instance.resume":                {Args: instArgs, Doc: "unfreeze a paused instance"},
	"instance.shutdown":              {Args: instArgs, Doc: "the instance shuts itself down (no requestor)"},
	"instance.update":                {Args: instArgs, Doc: "change an instance's configuration"},
	"instance.exec":                  {Args: with(instArgs, "command"), Doc: "run a command in a running instance"},
	"instance.file-push":             {Args: with(instArgs, "path"), Doc: "push a file into an instance"},
	"instance.snapshot":              {Args: with(instArgs, "snapshot"), Doc: "snapshot an instance"},
	"instance.snapshot-delete":       {Args: with(instArgs, "snapshot"), Doc: "delete an instance snapshot"},
	"instance.restore":               {Args: with(instArgs, "snapshot"), Doc: "restore an instance from a snapshot"},
	"instance.rename":                {Args: with(instArgs, "to"), Doc: "rename a stopped instance"},
	"instance.delete":                {Args: instArgs, Doc: "delete a stopped instance"},
	"image.import":                   {Args: with(common, "name", "type", "alias"), Doc: "import an image (name is its fingerprint), optionally with an alias"},
	"image.alias":                    {Args: with(common, "name", "alias"), Doc: "add an alias to an image", Required: []string{"alias"}},
	"image.delete":                   {Args: with(common, "name"), Doc: "delete an image"},
	"network.create":                 {Args: with(common, "name"), Doc: "create a network"},
	"network.update":                 {Args: with(common, "name"), Doc: "change a network"},
	"network.rename":                 {Args: with(common, "name", "to"), Doc: "rename a network"},
	"network.delete":                 {Args: with(common, "name"), Doc: "delete a network"},
	"network-acl.create":             {Args: with(common, "name"), Doc: "create a network ACL"},
	"network-acl.update":             {Args: with(common, "name"), Doc: "change a network ACL"},
	"network-acl.rename":             {Args: with(common, "name", "to"), Doc: "rename a network ACL"},
	"network-acl.delete":             {Args: with(common, "name"), Doc: "delete a network ACL"},
	"network-zone.create":            {Args: with(common, "name"), Doc: "create a network zone"},
	"network-zone.delete":            {Args: with(common, "name"), Doc: "delete a network zone"},
	"network-zone.record-create":     {Args: with(common, "zone", "name"), Doc: "add a record to a zone"},
	"network-zone.record-delete":     {Args: with(common, "zone", "name"), Doc: "delete a zone record"},
	"network-forward.create":         {Args: with(common, "network", "name"), Doc: "create a forward (name is its listen address)"},
	"network-forward.delete":         {Args: with(common, "network", "name"), Doc: "delete a forward"},
	"network-peer.create":            {Args: with(common, "network", "name"), Doc: "create a network peer"},
	"network-peer.delete":            {Args: with(common, "network", "name"), Doc: "delete a network peer"},
	"storage-pool.create":            {Args: with(common, "name"), Doc: "create a storage pool"},
	"storage-pool.update":            {Args: with(common, "name"), Doc: "change a storage pool"},
	"storage-pool.delete":            {Args: with(common, "name"), Doc: "delete a storage pool"},
	"storage-volume.create":          {Args: with(common, "pool", "name"), Doc: "create a custom volume"},
	"storage-volume.snapshot":        {Args: with(common, "pool", "name", "snapshot"), Doc: "snapshot a custom volume"},
	"storage-volume.snapshot-delete": {Args: with(common, "pool", "name", "snapshot"), Doc: "delete a volume snapshot"},
	"storage-volume.restore":         {Args: with(common, "pool", "name", "snapshot"), Doc: "restore a volume from a snapshot"},
	"storage-volume.rename":          {Args: with(common, "pool", "name", "to"), Doc: "rename a custom volume"},
	"storage-volume.backup":          {Args: with(common, "pool", "name", "backup"), Doc: "back up a custom volume, download the backup and delete it"},
	"storage-volume.delete":          {Args: with(common, "pool", "name"), Doc: "delete a custom volume"},
	"profile.create":                 {Args: with(common, "name"), Doc: "create a profile"},
	"profile.update":                 {Args: with(common, "name"), Doc: "change a profile"},
	"profile.rename":                 {Args: with(common, "name", "to"), Doc: "rename a profile"},
	"profile.delete":                 {Args: with(common, "name"), Doc: "delete a profile"},
	"project.create":                 {Args: with(common, "name"), Doc: "create a project"},
	"project.update":                 {Args: with(common, "name"), Doc: "change a project"},
	"project.rename":                 {Args: with(common, "name", "to"), Doc: "rename a project"},
	"project.delete":                 {Args: with(common, "name"), Doc: "delete a project"},
	"certificate.add":                {Args: with(common, "name"), Doc: "trust a client certificate (name is its fingerprint)"},
	"certificate.delete":             {Args: with(common, "name"), Doc: "remove a trusted certificate"},
	"config.update":                  {Args: common, Doc: "change the server configuration"},
	"cluster.member-join":            {Args: with(common, "name"), Doc: "a new member joins the cluster"},
	"cluster.member-rename":          {Args: with(common, "name", "to"), Doc: "rename a cluster member"},
	"cluster.member-remove":          {Args: with(common, "name"), Doc: "remove a cluster member"},
	"cluster.member-evacuate":        {Args: with(common, "name"), Doc: "evacuate an online cluster member (it shows Evacuated)"},
	"cluster.member-restore":         {Args: with(common, "name"), Doc: "restore an evacuated cluster member (it shows Online)"},
	"warning.acknowledge":            {Args: with(common, "name"), Doc: "acknowledge a warning (name is its UUID)"},
	"warning.reset":                  {Args: with(common, "name"), Doc: "reset a warning to new"},
	"warning.delete":                 {Args: with(common, "name"), Doc: "delete a warning"},
	"action":                         {Args: with(common, "action", "names", "context"), Required: []string{"action"}, Doc: "any lifecycle action of the flavour's catalogue, with its usual operation and logging"},
	"tour":                           {Args: common, Doc: "every lifecycle action of the flavour's catalogue once, in order, each with its usual operation and logging"},
	"log":                            {Args: []string{"member", "name", "context"}, Required: []string{"name"}, Doc: "a logging event (name is the message)"},
}

var linodeArgs = []string{"label", "fail", "async", "took", "username"}

// LinodeVerbs are the high-level Linode verbs a scenario step may name. Each
// makes the event the API shows, progressing on the virtual clock.
var LinodeVerbs = map[string]VerbSpec{
	"linode.create":        {Args: with(linodeArgs, "region", "plan", "image"), Doc: "create a Linode (linode_create)"},
	"linode.boot":          {Args: linodeArgs, Doc: "boot a Linode (linode_boot, with its config as secondary entity)"},
	"linode.reboot":        {Args: linodeArgs, Doc: "reboot a Linode"},
	"linode.shutdown":      {Args: linodeArgs, Doc: "shut a Linode down"},
	"linode.resize":        {Args: with(linodeArgs, "plan"), Doc: "resize a Linode (linode_resize_create, then linode_resize with rate and time_remaining)"},
	"linode.migrate":       {Args: with(linodeArgs, "region"), Doc: "migrate a Linode to another data centre"},
	"linode.rebuild":       {Args: with(linodeArgs, "image"), Doc: "rebuild a Linode from an image"},
	"linode.clone":         {Args: with(linodeArgs, "target"), Doc: "clone a Linode into a new one named target"},
	"linode.update":        {Args: linodeArgs, Doc: "change a Linode's settings (notification)"},
	"linode.delete":        {Args: linodeArgs, Doc: "delete a Linode"},
	"disk.create":          {Args: with(linodeArgs, "target", "size"), Doc: "create a disk on a Linode (label) named target"},
	"disk.resize":          {Args: with(linodeArgs, "target", "size"), Doc: "resize a disk"},
	"disk.delete":          {Args: with(linodeArgs, "target"), Doc: "delete a disk"},
	"volume.create":        {Args: with(linodeArgs, "region", "size"), Doc: "create a block storage volume"},
	"volume.attach":        {Args: with(linodeArgs, "target"), Doc: "attach a volume to the Linode named target"},
	"volume.detach":        {Args: linodeArgs, Doc: "detach a volume"},
	"volume.resize":        {Args: with(linodeArgs, "size"), Doc: "resize a volume"},
	"volume.delete":        {Args: linodeArgs, Doc: "delete a volume"},
	"domain.create":        {Args: linodeArgs, Doc: "create a DNS zone (label is the domain)"},
	"domain.record-create": {Args: with(linodeArgs, "target"), Doc: "add a record named target"},
	"domain.record-delete": {Args: with(linodeArgs, "target"), Doc: "delete a record"},
	"domain.delete":        {Args: linodeArgs, Doc: "delete a DNS zone"},
	"firewall.create":      {Args: linodeArgs, Doc: "create a firewall"},
	"firewall.update":      {Args: linodeArgs, Doc: "change a firewall's rules"},
	"firewall.device-add":  {Args: with(linodeArgs, "target"), Doc: "attach the Linode named target"},
	"firewall.delete":      {Args: linodeArgs, Doc: "delete a firewall"},
	"nodebalancer.create":  {Args: with(linodeArgs, "region"), Doc: "create a NodeBalancer"},
	"nodebalancer.update":  {Args: linodeArgs, Doc: "change a NodeBalancer"},
	"nodebalancer.delete":  {Args: linodeArgs, Doc: "delete a NodeBalancer"},
	"user.create":          {Args: linodeArgs, Doc: "add a user to the account (label is the username)"},
	"user.update":          {Args: linodeArgs, Doc: "change a user"},
	"user.delete":          {Args: linodeArgs, Doc: "remove a user"},
	"token.create":         {Args: linodeArgs, Doc: "create a personal access token"},
	"token.delete":         {Args: linodeArgs, Doc: "revoke a token"},
	"ticket.create":        {Args: linodeArgs, Doc: "open a support ticket (label is its summary)"},
	"ticket.update":        {Args: linodeArgs, Doc: "reply to a support ticket"},
	"backups.enable":       {Args: linodeArgs, Doc: "enable backups on a Linode"},
	"backups.cancel":       {Args: linodeArgs, Doc: "cancel backups on a Linode"},
	"backups.restore":      {Args: with(linodeArgs, "target"), Doc: "restore a backup onto the Linode named target"},
	"tour":                 {Args: []string{"async", "username"}, Doc: "every action of the catalogue (192) once, in order, each with its usual entity and progression"},
	"action":               {Args: with(linodeArgs, "action", "entity", "secondary", "message"), Required: []string{"action"}, Doc: "any action of the catalogue, with its usual entity, status progression and duration"},
}

// Verbs returns the verbs of an API with their docs, sorted, for help output.
func Verbs(api string) []string {
	m := LXDVerbs
	if api == "linode" {
		m = LinodeVerbs
	}
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		v := m[k]
		args := append([]string(nil), v.Args...)
		sort.Strings(args)
		out = append(out, fmt.Sprintf("%-32s %s [%s]", k, v.Doc, strings.Join(args, " ")))
	}
	return out
}
