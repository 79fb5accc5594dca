package catalog

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// LinodeAction describes one Linode event action.
type LinodeAction struct {
	// Name is the action, e.g. "linode_boot".
	Name string
	// EntityType is entity.type, e.g. "linode"; EntityURL its url pattern with
	// {id} (and {parent} for nested objects), e.g. "/v4/linode/instances/{id}".
	EntityType string
	EntityURL  string
	// EntityID says what entity.id holds: "int", "name" (tags) or "none"
	// (account and profile events, whose id is null).
	EntityID string
	// SecondaryType and SecondaryURL describe secondary_entity; empty when
	// the action has none (secondary_entity is null).
	SecondaryType string
	SecondaryURL  string
	// Long says the action runs in the background: scheduled, then started
	// with percent_complete rising, then finished or failed. Otherwise it is
	// a notification with null percent_complete and duration.
	Long bool
	// MinDuration and MaxDuration bound how long a long action runs.
	MinDuration, MaxDuration time.Duration
	// Rate says the action reports rate and time_remaining while it runs
	// (migrations and resizes).
	Rate bool
	// Reference says the action is in the seed's list of 116; the others came
	// with later specs.
	Reference bool
	// Creates says which entity the action brings into being: "entity"
	// (linode_create), "secondary" (disk_create, linode_clone) or "".
	// Removes likewise says which it deletes (linode_delete: "entity",
	// dns_record_delete: "secondary"); a long action removes it when it
	// finishes.
	Creates, Removes string
}

// LinodeCatalog is every Linode event action.
type LinodeCatalog struct {
	Actions []*LinodeAction // sorted by name
	byName  map[string]*LinodeAction
}

// Action returns the named action, or nil when it is not in the catalogue.
func (c *LinodeCatalog) Action(name string) *LinodeAction { return c.byName[name] }

// Names returns the action names in order.
func (c *LinodeCatalog) Names() []string {
	out := make([]string, len(c.Actions))
	for i, a := range c.Actions {
		out[i] = a.Name
	}
	return out
}

// LinodeEntityTypes lists every entity.type the current spec defines.
var LinodeEntityTypes = []string{
	"account", "backups", "community", "database", "disks", "domain", "entity_transfer",
	"firewall", "image", "ipaddress", "linode", "lkecluster", "loadbalancer", "longview",
	"managed_service", "nodebalancer", "oauth_client", "placement_group", "profile",
	"stackscript", "subnet", "tag", "ticket", "token", "user", "user_ssh_key", "volume", "vpc",
}

// linodeEntity is the entity rule for actions that start with prefix.
type linodeEntity struct {
	prefix, typ, url, id string
}

// linodeEntities is ordered longest prefix first so the first match wins.
var linodeEntities = []linodeEntity{
	{"account_", "account", "/v4/account", "none"},
	{"credit_card_", "account", "/v4/account", "none"},
	{"payment_", "account", "/v4/account", "none"},
	{"tax_id_", "account", "/v4/account", "none"},
	{"obj_access_key_", "account", "/v4/account", "none"},
	{"backups_", "linode", "/v4/linode/instances/{id}", "int"},
	{"community_", "community", "https://www.linode.com/community/questions/{id}", "int"},
	{"database_", "database", "/v4/databases/mysql/instances/{id}", "int"},
	{"disk_", "linode", "/v4/linode/instances/{id}", "int"},
	{"dns_", "domain", "/v4/domains/{id}", "int"},
	{"entity_transfer_", "entity_transfer", "/v4/account/entity-transfers/{id}", "int"},
	{"firewall_", "firewall", "/v4/networking/firewalls/{id}", "int"},
	{"host_", "linode", "/v4/linode/instances/{id}", "int"},
	{"lassie_", "linode", "/v4/linode/instances/{id}", "int"},
	{"lish_", "linode", "/v4/linode/instances/{id}", "int"},
	{"image_", "image", "/v4/images/private/{id}", "int"},
	{"interface_", "linode", "/v4/linode/instances/{id}", "int"},
	{"ipaddress_", "ipaddress", "/v4/networking/ips/{label}", "int"},
	{"ipv6pool_", "ipaddress", "/v4/networking/ipv6/pools", "int"},
	{"reserved_ip_", "ipaddress", "/v4/networking/reserved/ips/{label}", "int"},
	{"linode_", "linode", "/v4/linode/instances/{id}", "int"},
	{"lke_", "lkecluster", "/v4/lke/clusters/{id}", "int"},
	{"longviewclient_", "longview", "/v4/longview/clients/{id}", "int"},
	{"managed_", "managed_service", "/v4/managed/services/{id}", "int"},
	{"nodebalancer_", "nodebalancer", "/v4/nodebalancers/{id}", "int"},
	{"oauth_client_", "oauth_client", "/v4/account/oauth-clients/{id}", "int"},
	{"password_", "profile", "/v4/profile", "none"},
	{"tfa_", "profile", "/v4/profile", "none"},
	{"profile_", "profile", "/v4/profile", "none"},
	{"placement_group_", "placement_group", "/v4/placement/groups/{id}", "int"},
	{"stackscript_", "stackscript", "/v4/linode/stackscripts/{id}", "int"},
	{"subnet_", "subnet", "/v4/vpcs/{parent}/subnets/{id}", "int"},
	{"tag_", "tag", "/v4/tags/{label}", "name"},
	{"ticket_", "ticket", "/v4/support/tickets/{id}", "int"},
	{"token_", "token", "/v4/profile/tokens/{id}", "int"},
	{"user_ssh_key_", "user_ssh_key", "/v4/profile/sshkeys/{id}", "int"},
	{"user_", "user", "/v4/account/users/{label}", "int"},
	{"vlan_", "linode", "/v4/linode/instances/{id}", "int"},
	{"volume_", "volume", "/v4/volumes/{id}", "int"},
	{"vpc_", "vpc", "/v4/vpcs/{id}", "int"},
}

// linodeSecondary names the secondary entity of actions that have one.
var linodeSecondary = map[string][2]string{
	"linode_boot":                {"linode_config", "/v4/linode/instances/{id}/configs/{secondary}"},
	"linode_reboot":              {"linode_config", "/v4/linode/instances/{id}/configs/{secondary}"},
	"linode_config_create":       {"linode_config", "/v4/linode/instances/{id}/configs/{secondary}"},
	"linode_config_update":       {"linode_config", "/v4/linode/instances/{id}/configs/{secondary}"},
	"linode_config_delete":       {"linode_config", "/v4/linode/instances/{id}/configs/{secondary}"},
	"linode_create":              {"image", "/v4/images/{secondary}"},
	"linode_rebuild":             {"image", "/v4/images/{secondary}"},
	"linode_clone":               {"linode", "/v4/linode/instances/{secondary}"},
	"disk_create":                {"disk", "/v4/linode/instances/{id}/disks/{secondary}"},
	"disk_delete":                {"disk", "/v4/linode/instances/{id}/disks/{secondary}"},
	"disk_update":                {"disk", "/v4/linode/instances/{id}/disks/{secondary}"},
	"disk_duplicate":             {"disk", "/v4/linode/instances/{id}/disks/{secondary}"},
	"disk_imagize":               {"image", "/v4/images/private/{secondary}"},
	"disk_resize":                {"disk", "/v4/linode/instances/{id}/disks/{secondary}"},
	"volume_attach":              {"linode", "/v4/linode/instances/{secondary}"},
	"volume_detach":              {"linode", "/v4/linode/instances/{secondary}"},
	"volume_clone":               {"volume", "/v4/volumes/{secondary}"},
	"firewall_device_add":        {"linode", "/v4/linode/instances/{secondary}"},
	"firewall_device_remove":     {"linode", "/v4/linode/instances/{secondary}"},
	"dns_record_create":          {"domain_record", "/v4/domains/{id}/records/{secondary}"},
	"dns_record_update":          {"domain_record", "/v4/domains/{id}/records/{secondary}"},
	"dns_record_delete":          {"domain_record", "/v4/domains/{id}/records/{secondary}"},
	"nodebalancer_config_create": {"nodebalancer_config", "/v4/nodebalancers/{id}/configs/{secondary}"},
	"nodebalancer_config_update": {"nodebalancer_config", "/v4/nodebalancers/{id}/configs/{secondary}"},
	"nodebalancer_config_delete": {"nodebalancer_config", "/v4/nodebalancers/{id}/configs/{secondary}"},
	"nodebalancer_node_create":   {"nodebalancer_node", "/v4/nodebalancers/{id}/configs/{secondary}/nodes"},
	"nodebalancer_node_update":   {"nodebalancer_node", "/v4/nodebalancers/{id}/configs/{secondary}/nodes"},
	"nodebalancer_node_delete":   {"nodebalancer_node", "/v4/nodebalancers/{id}/configs/{secondary}/nodes"},
	"linode_addip":               {"ipaddress", "/v4/networking/ips/{secondary}"},
	"linode_deleteip":            {"ipaddress", "/v4/networking/ips/{secondary}"},
	"placement_group_assign":     {"linode", "/v4/linode/instances/{secondary}"},
	"placement_group_unassign":   {"linode", "/v4/linode/instances/{secondary}"},
	"reserved_ip_assign":         {"linode", "/v4/linode/instances/{secondary}"},
	"reserved_ip_unassign":       {"linode", "/v4/linode/instances/{secondary}"},
	"vlan_attach":                {"vlan", "/v4/networking/vlans"},
	"vlan_detach":                {"vlan", "/v4/networking/vlans"},
}

// linodeCreates and linodeRemoves name the actions that bring an entity
// into being or delete it, and which one: the entity or the secondary
// entity. Other *_create and *_delete actions act on a part of their entity
// (lke_node_delete, firewall_ruleset_delete, obj_access_key_delete), or name
// a list rather than what they add to it or remove from it
// (nodebalancer_node_*: its secondary URL is the config's nodes).
var (
	linodeCreates = map[string]string{
		"linode_create": "entity", "volume_create": "entity", "dns_zone_create": "entity", "dns_zone_import": "entity",
		"firewall_create": "entity", "nodebalancer_create": "entity", "image_upload": "entity", "user_create": "entity",
		"token_create": "entity", "user_ssh_key_add": "entity", "stackscript_create": "entity",
		"longviewclient_create": "entity", "managed_service_create": "entity", "oauth_client_create": "entity",
		"tag_create": "entity", "ticket_create": "entity", "database_create": "entity", "lke_cluster_create": "entity",
		"vpc_create": "entity", "subnet_create": "entity", "placement_group_create": "entity",
		"reserved_ip_create": "entity", "entity_transfer_create": "entity",
		"disk_create": "secondary", "disk_duplicate": "secondary", "disk_imagize": "secondary",
		"linode_config_create": "secondary", "dns_record_create": "secondary", "nodebalancer_config_create": "secondary",
		"linode_clone": "secondary", "volume_clone": "secondary",
	}
	linodeRemoves = map[string]string{
		"linode_delete": "entity", "volume_delete": "entity", "dns_zone_delete": "entity", "firewall_delete": "entity",
		"nodebalancer_delete": "entity", "image_delete": "entity", "user_delete": "entity", "token_delete": "entity",
		"user_ssh_key_delete": "entity", "stackscript_delete": "entity", "longviewclient_delete": "entity",
		"managed_service_delete": "entity", "oauth_client_delete": "entity", "tag_delete": "entity",
		"database_delete": "entity", "lke_cluster_delete": "entity", "vpc_delete": "entity", "subnet_delete": "entity",
		"placement_group_delete": "entity", "reserved_ip_delete": "entity",
		"disk_delete": "secondary", "linode_config_delete": "secondary", "dns_record_delete": "secondary",
		"nodebalancer_config_delete": "secondary",
	}
)

// linodeLong lists the actions that run in the background, with how long they
// take (min, max) and whether they report rate and time_remaining.
var linodeLong = map[string]struct {
	min, max time.Duration
	rate     bool
}{
	"linode_boot":                      {20 * time.Second, 60 * time.Second, false},
	"linode_reboot":                    {30 * time.Second, 90 * time.Second, false},
	"linode_shutdown":                  {10 * time.Second, 40 * time.Second, false},
	"linode_create":                    {30 * time.Second, 120 * time.Second, false},
	"linode_clone":                     {2 * time.Minute, 10 * time.Minute, false},
	"linode_rebuild":                   {1 * time.Minute, 5 * time.Minute, false},
	"linode_delete":                    {5 * time.Second, 20 * time.Second, false},
	"linode_migrate":                   {5 * time.Minute, 25 * time.Minute, true},
	"linode_migrate_datacenter":        {10 * time.Minute, 40 * time.Minute, true},
	"linode_migrate_datacenter_create": {5 * time.Second, 15 * time.Second, false},
	"linode_mutate":                    {5 * time.Minute, 20 * time.Minute, true},
	"linode_mutate_create":             {5 * time.Second, 15 * time.Second, false},
	"linode_resize":                    {5 * time.Minute, 25 * time.Minute, true},
	"linode_resize_create":             {5 * time.Second, 15 * time.Second, false},
	"linode_resize_warm_create":        {5 * time.Second, 15 * time.Second, false},
	"linode_snapshot":                  {1 * time.Minute, 8 * time.Minute, false},
	"linode_kvmify":                    {1 * time.Minute, 4 * time.Minute, false},
	"host_reboot":                      {1 * time.Minute, 5 * time.Minute, false},
	"lassie_reboot":                    {30 * time.Second, 90 * time.Second, false},
	"lish_boot":                        {20 * time.Second, 60 * time.Second, false},
	"backups_enable":                   {5 * time.Second, 30 * time.Second, false},
	"backups_restore":                  {2 * time.Minute, 15 * time.Minute, false},
	"disk_create":                      {10 * time.Second, 2 * time.Minute, false},
	"disk_delete":                      {5 * time.Second, 20 * time.Second, false},
	"disk_duplicate":                   {1 * time.Minute, 6 * time.Minute, false},
	"disk_imagize":                     {2 * time.Minute, 10 * time.Minute, false},
	"disk_resize":                      {30 * time.Second, 5 * time.Minute, false},
	"image_upload":                     {1 * time.Minute, 6 * time.Minute, false},
	"volume_create":                    {10 * time.Second, 60 * time.Second, false},
	"volume_attach":                    {5 * time.Second, 30 * time.Second, false},
	"volume_detach":                    {5 * time.Second, 30 * time.Second, false},
	"volume_resize":                    {20 * time.Second, 2 * time.Minute, false},
	"volume_clone":                     {1 * time.Minute, 6 * time.Minute, false},
	"volume_migrate":                   {5 * time.Minute, 20 * time.Minute, true},
	"database_create":                  {5 * time.Minute, 15 * time.Minute, false},
	"database_resize":                  {5 * time.Minute, 20 * time.Minute, true},
	"database_upgrade":                 {3 * time.Minute, 10 * time.Minute, false},
	"database_migrate":                 {5 * time.Minute, 20 * time.Minute, true},
	"database_backup_restore":          {3 * time.Minute, 12 * time.Minute, false},
	"database_scale":                   {3 * time.Minute, 10 * time.Minute, false},
	"lke_cluster_create":               {3 * time.Minute, 8 * time.Minute, false},
	"lke_node_create":                  {1 * time.Minute, 4 * time.Minute, false},
	"lke_node_recycle":                 {2 * time.Minute, 6 * time.Minute, false},
	"lke_pool_recycle":                 {4 * time.Minute, 12 * time.Minute, false},
	"lke_cluster_recycle":              {5 * time.Minute, 15 * time.Minute, false},
	"entity_transfer_accept":           {5 * time.Second, 30 * time.Second, false},
}

var linodeCatalog = sync.OnceValues(func() (*LinodeCatalog, error) {
	names, err := readList("data/linode-actions-4.229.txt")
	if err != nil {
		return nil, err
	}
	ref, err := readList("data/linode-actions-reference.txt")
	if err != nil {
		return nil, err
	}
	inRef := make(map[string]bool, len(ref))
	for _, n := range ref {
		inRef[n] = true
	}
	c := &LinodeCatalog{byName: make(map[string]*LinodeAction, len(names))}
	for _, n := range names {
		a, err := describeLinode(n)
		if err != nil {
			return nil, err
		}
		a.Reference = inRef[n]
		c.Actions = append(c.Actions, a)
		c.byName[n] = a
	}
	for _, m := range []map[string]string{linodeCreates, linodeRemoves} {
		for n := range m {
			if c.byName[n] == nil {
				return nil, fmt.Errorf("catalog: Linode action %q creates or removes an entity but is not in the list", n)
			}
		}
	}
	for _, n := range ref {
		if c.byName[n] == nil {
			return nil, fmt.Errorf("catalog: reference Linode action %q missing from the current list", n)
		}
	}
	sort.Slice(c.Actions, func(i, j int) bool { return c.Actions[i].Name < c.Actions[j].Name })
	return c, nil
})

// Linode returns the catalogue of Linode event actions.
func Linode() *LinodeCatalog {
	c, err := linodeCatalog()
	if err != nil {
		panic(err)
	}
	return c
}

func describeLinode(name string) (*LinodeAction, error) {
	for _, e := range linodeEntities {
		if !strings.HasPrefix(name, e.prefix) {
			continue
		}
		a := &LinodeAction{Name: name, EntityType: e.typ, EntityURL: e.url, EntityID: e.id}
		if s, ok := linodeSecondary[name]; ok {
			a.SecondaryType, a.SecondaryURL = s[0], s[1]
		}
		a.Creates, a.Removes = linodeCreates[name], linodeRemoves[name]
		if l, ok := linodeLong[name]; ok {
			a.Long, a.MinDuration, a.MaxDuration, a.Rate = true, l.min, l.max, l.rate
		}
		return a, nil
	}
	return nil, fmt.Errorf("catalog: no entity rule for Linode action %q", name)
}
