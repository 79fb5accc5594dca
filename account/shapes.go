package account

import (
	"fmt"
	"strings"
	"time"
)

// Region is a region Linodes and volumes may be created in.
type Region struct{ ID, Label, Country string }

// Regions are the regions the fake knows, as the real API lists them.
var Regions = []Region{
	{"ap-west", "Mumbai, IN", "in"}, {"ca-central", "Toronto, CA", "ca"}, {"ap-southeast", "Sydney, AU", "au"},
	{"us-iad", "Washington, DC", "us"}, {"us-ord", "Chicago, IL", "us"}, {"fr-par", "Paris, FR", "fr"},
	{"us-sea", "Seattle, WA", "us"}, {"nl-ams", "Amsterdam, NL", "nl"}, {"se-sto", "Stockholm, SE", "se"},
	{"us-central", "Dallas, TX", "us"}, {"us-west", "Fremont, CA", "us"}, {"us-southeast", "Atlanta, GA", "us"},
	{"us-east", "Newark, NJ", "us"}, {"eu-west", "London, UK", "gb"}, {"ap-south", "Singapore, SG", "sg"},
	{"eu-central", "Frankfurt, DE", "de"}, {"ap-northeast", "Tokyo, JP", "jp"},
}

// Type is a Linode plan.
type Type struct {
	ID                                   string
	Label                                string
	Disk, Memory, VCPUs, Transfer, Price int // MB, MB, count, GB, cents per month
}

// Types are the plans the fake knows.
var Types = []Type{
	{"g6-nanode-1", "Nanode 1GB", 25600, 1024, 1, 1000, 500},
	{"g6-standard-1", "Linode 2GB", 51200, 2048, 1, 2000, 1200},
	{"g6-standard-2", "Linode 4GB", 81920, 4096, 2, 4000, 2400},
	{"g6-standard-4", "Linode 8GB", 163840, 8192, 4, 5000, 4800},
	{"g6-standard-6", "Linode 16GB", 327680, 16384, 6, 8000, 9600},
	{"g6-dedicated-2", "Dedicated 4GB", 81920, 4096, 2, 4000, 3600},
	{"g6-dedicated-4", "Dedicated 8GB", 163840, 8192, 4, 5000, 7200},
}

// FindRegion and FindType look a region or a plan up by id.
func FindRegion(id string) (Region, bool) {
	for _, r := range Regions {
		if r.ID == id {
			return r, true
		}
	}
	return Region{}, false
}

// FindType looks a plan up by id.
func FindType(id string) (Type, bool) {
	for _, t := range Types {
		if t.ID == id {
			return t, true
		}
	}
	return Type{}, false
}

type image struct{ id, label, vendor string }

// publicImages every account can deploy.
var publicImages = []image{
	{"linode/debian12", "Debian 12", "Debian"}, {"linode/debian11", "Debian 11", "Debian"},
	{"linode/ubuntu24.04", "Ubuntu 24.04 LTS", "Ubuntu"}, {"linode/ubuntu22.04", "Ubuntu 22.04 LTS", "Ubuntu"},
	{"linode/alpine3.20", "Alpine 3.20", "Alpine"}, {"linode/almalinux9", "AlmaLinux 9", "AlmaLinux"},
	{"linode/rocky9", "Rocky Linux 9", "Rocky"}, {"linode/fedora40", "Fedora 40", "Fedora"},
	{"linode/arch", "Arch Linux", "Arch"},
}

// ImageLabel returns the label of a public image, "" when there is none.
func ImageLabel(id string) string {
	for _, im := range publicImages {
		if im.id == id {
			return im.label
		}
	}
	return ""
}

// Specs returns a plan's specs object.
func Specs(t Type) map[string]any {
	return map[string]any{"disk": t.Disk, "memory": t.Memory, "vcpus": t.VCPUs, "gpus": 0, "transfer": t.Transfer}
}

// Addresses derives a Linode's public IPv4 and IPv6 from its id (documentation
// ranges, as linodego's sanitised fixtures show).
func Addresses(id int64) (v4, v6 string) {
	return fmt.Sprintf("192.0.2.%d", 1+id%254), fmt.Sprintf("2001:db8::%x:%x/128", (id>>16)&0xffff, id&0xffff)
}

// shape is the object an event names when nothing more is known of it.
func shape(kind string, id any, label, path string, now time.Time) map[string]any {
	ts := stamp(now)
	n, _ := id.(int64)
	switch kind {
	case "linode":
		if label == "" {
			label = fmt.Sprintf("linode%d", n)
		}
		t := Types[1]
		v4, v6 := Addresses(n)
		return map[string]any{
			"id": n, "label": label, "group": "", "status": "offline", "created": ts, "updated": ts,
			"type": t.ID, "ipv4": []string{v4}, "ipv6": v6, "image": "linode/debian12", "region": "us-east",
			"specs":  Specs(t),
			"alerts": map[string]any{"cpu": 90, "network_in": 10, "network_out": 10, "transfer_quota": 80, "io": 10000},
			"backups": map[string]any{"enabled": false, "available": false,
				"schedule": map[string]any{"day": nil, "window": nil}, "last_successful": nil},
			"hypervisor": "kvm", "watchdog_enabled": true, "tags": []string{},
			"host_uuid": fmt.Sprintf("%040x", uint64(n)*2654435761), "has_user_data": false,
			"placement_group": nil, "disk_encryption": "enabled", "lke_cluster_id": nil, "capabilities": []string{},
		}
	case "volume":
		if label == "" {
			label = fmt.Sprintf("volume%d", n)
		}
		return map[string]any{
			"id": n, "label": label, "status": "active", "created": ts, "updated": ts,
			"filesystem_path": "/dev/disk/by-id/scsi-0Linode_Volume_" + label, "size": 20,
			"linode_id": nil, "linode_label": nil, "io_ready": false, "region": "us-east", "tags": []string{},
			"hardware_type": "nvme", "encryption": "enabled",
		}
	case "disk":
		if label == "" {
			label = fmt.Sprintf("disk%d", n)
		}
		return map[string]any{"id": n, "label": label, "status": "ready", "size": 25088, "filesystem": "ext4",
			"created": ts, "updated": ts, "disk_encryption": "enabled"}
	case "config":
		if label == "" {
			label = "My Debian 12 Disk Profile"
		}
		return map[string]any{
			"id": n, "label": label, "kernel": "linode/grub2", "comments": "", "memory_limit": 0,
			"root_device": "/dev/sda", "run_level": "default", "virt_mode": "paravirt", "initrd": nil,
			"helpers": map[string]any{"updatedb_disabled": true, "distro": true, "modules_dep": true,
				"network": true, "devtmpfs_automount": true},
			"devices":    map[string]any{"sda": nil, "sdb": nil, "sdc": nil, "sdd": nil, "sde": nil, "sdf": nil, "sdg": nil, "sdh": nil},
			"interfaces": []any{}, "created": ts, "updated": ts,
		}
	case "domain":
		if label == "" {
			label = fmt.Sprintf("domain%d.example", n)
		}
		return map[string]any{
			"id": n, "type": "master", "domain": label, "tags": []string{}, "group": "", "status": "active",
			"description": "", "soa_email": "admin@" + label, "retry_sec": 0, "master_ips": []string{},
			"axfr_ips": []string{}, "expire_sec": 0, "refresh_sec": 0, "ttl_sec": 0, "created": ts, "updated": ts,
		}
	case "record":
		return map[string]any{"id": n, "type": "A", "name": label, "target": "192.0.2.10", "priority": 0,
			"weight": 0, "port": 0, "service": nil, "protocol": nil, "ttl_sec": 0, "tag": nil, "created": ts, "updated": ts}
	case "firewall":
		if label == "" {
			label = fmt.Sprintf("firewall%d", n)
		}
		return map[string]any{
			"id": n, "label": label, "created": ts, "updated": ts, "status": "enabled",
			"rules": map[string]any{"inbound": []any{}, "inbound_policy": "ACCEPT", "outbound": []any{},
				"outbound_policy": "ACCEPT", "version": 1, "fingerprint": fmt.Sprintf("%08x", uint32(n)*2654435761)},
			"tags": []string{}, "entities": []any{},
		}
	case "device":
		return map[string]any{"id": n, "created": ts, "updated": ts, "entity": nil}
	case "nodebalancer":
		if label == "" {
			label = fmt.Sprintf("balancer%d", n)
		}
		v4, v6 := Addresses(n)
		return map[string]any{
			"id": n, "label": label, "region": "us-east", "type": "common",
			"hostname": fmt.Sprintf("nb-%d.newark.nodebalancer.linode.com", n),
			"ipv4":     strings.TrimSuffix(v4, "/32"), "ipv6": strings.TrimSuffix(v6, "/128"),
			"created": ts, "updated": ts, "client_conn_throttle": 0, "client_udp_sess_throttle": 0,
			"lke_cluster": nil, "tags": []string{}, "transfer": map[string]any{"in": nil, "out": nil, "total": nil},
		}
	case "nodebalancer_config":
		return map[string]any{
			"id": n, "port": 80, "protocol": "http", "algorithm": "roundrobin", "stickiness": "none",
			"check": "none", "check_interval": 0, "check_timeout": 30, "check_attempts": 3, "check_path": "",
			"check_body": "", "check_passive": true, "proxy_protocol": "none", "cipher_suite": "recommended",
			"nodebalancer_id": parentID(path, 2), "ssl_commonname": "", "ssl_fingerprint": "", "ssl_cert": nil,
			"ssl_key": nil, "nodes_status": map[string]any{"up": 0, "down": 0}, "udp_check_port": 80, "udp_session_timeout": 16,
		}
	case "nodebalancer_node":
		return map[string]any{"id": n, "label": label, "address": "192.168.0.10:80", "status": "Unknown",
			"weight": 50, "mode": "accept", "config_id": parentID(path, 2), "nodebalancer_id": parentID(path, 4)}
	case "image":
		s, _ := id.(string)
		return imageShape(image{id: s, label: label}, now)
	case "user":
		name := path[strings.LastIndexByte(path, '/')+1:]
		return map[string]any{"username": name, "email": name + "@example.com", "restricted": false,
			"ssh_keys": []string{}, "tfa_enabled": false, "verified_phone_number": nil, "password_created": nil,
			"last_login": nil, "user_type": "default"}
	case "token":
		return map[string]any{"id": n, "label": label, "scopes": "*", "created": ts, "token": "abcdefghijklmnop"[:16],
			"expiry": stamp(now.AddDate(100, 0, 0))}
	case "sshkey":
		return map[string]any{"id": n, "label": label, "ssh_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEventsimKeyPlaceholderOnly " + label, "created": ts}
	case "ticket":
		return map[string]any{"id": n, "summary": label, "description": label, "status": "new", "opened": ts,
			"updated": ts, "closed": nil, "closable": false, "entity": nil, "gravatar_id": "", "opened_by": "eventsim",
			"updated_by": "eventsim", "attachments": []string{}}
	case "tag":
		return map[string]any{"label": path[strings.LastIndexByte(path, '/')+1:]}
	case "longview":
		return map[string]any{"id": n, "label": label, "api_key": fmt.Sprintf("%08X-0000-4000-8000-%012X", n, n),
			"install_code": fmt.Sprintf("%08X-0000-4000-8000-%012X", n*7, n*7),
			"apps":         map[string]any{"apache": false, "nginx": false, "mysql": false}, "created": ts, "updated": ts}
	case "managed_service":
		return map[string]any{"id": n, "label": label, "status": "ok", "service_type": "url", "address": "https://example.org",
			"timeout": 30, "body": "", "consultation_group": "", "notes": "", "region": nil, "credentials": []int{},
			"created": ts, "updated": ts}
	case "oauth_client":
		return map[string]any{"id": fmt.Sprint(id), "label": label, "redirect_uri": "https://example.org/callback",
			"status": "active", "secret": "<REDACTED>", "thumbnail_url": nil, "public": false}
	case "stackscript":
		return map[string]any{"id": n, "username": "eventsim", "user_gravatar_id": "", "label": label,
			"description": "", "ordinal": 0, "logo_url": "", "images": []string{"linode/debian12"},
			"deployments_total": 0, "deployments_active": 0, "is_public": false, "mine": true, "created": ts,
			"updated": ts, "rev_note": "", "script": "#!/bin/bash\n", "user_defined_fields": []any{}}
	}
	// An entity the fake knows no shape for: what the event says of it.
	return map[string]any{"id": id, "label": label, "created": ts, "updated": ts}
}

// parentID is the integer segment k places from the end of path.
func parentID(path string, k int) any {
	segs := strings.Split(path, "/")
	if len(segs) <= k {
		return nil
	}
	return lastSegmentID("/" + segs[len(segs)-1-k])
}

func imageShape(im image, now time.Time) map[string]any {
	public := strings.HasPrefix(im.id, "linode/")
	by, vendor := "linode", any(nil)
	if !public {
		by = "eventsim"
	} else {
		vendor = im.vendor
	}
	return map[string]any{
		"id": im.id, "label": im.label, "description": "", "created": stamp(now), "updated": stamp(now),
		"created_by": by, "type": "manual", "is_public": public, "deprecated": false, "size": 2500,
		"vendor": vendor, "expiry": nil, "eol": nil, "status": "available", "capabilities": []string{}, "tags": []string{},
	}
}

func accountShape() map[string]any {
	return map[string]any{
		"company": "eventsim", "email": "ops@example.com", "first_name": "Event", "last_name": "Sim",
		"address_1": "", "address_2": "", "city": "", "state": "", "zip": "", "country": "US", "phone": "",
		"balance": 0, "balance_uninvoiced": 0, "tax_id": "", "euuid": "E0000000-0000-4000-8000-000000000001",
		"active_since": "2018-01-01T00:01:01", "capabilities": []string{"Linodes", "NodeBalancers", "Block Storage", "Cloud Firewall"},
		"credit_card": map[string]any{"last_four": "1111", "expiry": "12/2030"},
	}
}

func profileShape() map[string]any {
	return map[string]any{
		"uid": 1, "username": "eventsim", "email": "ops@example.com", "timezone": "UTC", "email_notifications": true,
		"restricted": false, "two_factor_auth": false, "lish_auth_method": "keys_only", "authorized_keys": []string{},
		"ip_whitelist_enabled": false, "referrals": map[string]any{"code": "", "url": "", "total": 0, "completed": 0,
			"pending": 0, "credit": 0}, "authentication_type": "password", "verified_phone_number": nil,
	}
}
