package simulator_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/linode/linodego"

	"github.com/eventsim/eventsim/simulator"
	"github.com/eventsim/eventsim/simulator/linode"
)

// TestLinodegoAccountWhileScenarioPlays is the judge: linodego v1
// drives the account the way Terraform's provider and the CSI driver do,
// while linode-provisioning plays at speed 10, and every wait ends on the
// status the events bring.
func TestLinodegoAccountWhileScenarioPlays(t *testing.T) {
	e2eSilenceLog(t)
	s := simulator.NewServer(t, simulator.Options{Scenario: "linode-provisioning", Speed: 10, Linode: linode.Options{RateLimit: -1}})
	c := e2eClient(s, 0)
	c.SetPollDelay(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- errors.New(name + ": " + err.Error())
			}
		}()
	}

	// Instances, as Terraform does it: a poller on linode_create started
	// before the create, then boot, shut down, resize, reboot, delete.
	run("instance", func() error {
		booted := false
		p, err := c.NewEventPollerWithoutEntity(linodego.EntityLinode, linodego.ActionLinodeCreate)
		if err != nil {
			return err
		}
		inst, err := c.CreateInstance(ctx, linodego.InstanceCreateOptions{Region: "us-east", Type: "g6-nanode-1",
			Label: "tf-web-1", Image: "linode/debian12", RootPass: "Correct-Horse-9", Booted: &booted, Tags: []string{"terraform"}})
		if err != nil {
			return err
		}
		p.EntityID = inst.ID
		if _, err := p.WaitForFinished(ctx, 120); err != nil {
			return err
		}
		bp, err := c.NewEventPoller(ctx, inst.ID, linodego.EntityLinode, linodego.ActionLinodeBoot)
		if err != nil {
			return err
		}
		if err := c.BootInstance(ctx, inst.ID, 0); err != nil {
			return err
		}
		if _, err := bp.WaitForFinished(ctx, 120); err != nil {
			return err
		}
		if _, err := c.WaitForInstanceStatus(ctx, inst.ID, linodego.InstanceRunning, 120); err != nil {
			return err
		}
		l, err := c.ListInstances(ctx, &linodego.ListOptions{Filter: `{"tags":"terraform"}`})
		if err != nil {
			return err
		}
		if len(l) != 1 || l[0].ID != inst.ID {
			return errors.New("ListInstances by tag did not find exactly the new Linode")
		}
		if err := c.ShutdownInstance(ctx, inst.ID); err != nil {
			return err
		}
		if _, err := c.WaitForInstanceStatus(ctx, inst.ID, linodego.InstanceOffline, 120); err != nil {
			return err
		}
		rp, err := c.NewEventPoller(ctx, inst.ID, linodego.EntityLinode, linodego.ActionLinodeResize)
		if err != nil {
			return err
		}
		if err := c.ResizeInstance(ctx, inst.ID, linodego.InstanceResizeOptions{Type: "g6-standard-1"}); err != nil {
			return err
		}
		if _, err := rp.WaitForFinished(ctx, 120); err != nil {
			return err
		}
		got, err := c.WaitForInstanceStatus(ctx, inst.ID, linodego.InstanceOffline, 120)
		if err != nil {
			return err
		}
		if got.Type != "g6-standard-1" {
			return errors.New("type after resize: " + got.Type)
		}
		if err := c.RebootInstance(ctx, inst.ID, 0); err != nil {
			return err
		}
		if _, err := c.WaitForInstanceStatus(ctx, inst.ID, linodego.InstanceRunning, 120); err != nil {
			return err
		}
		if err := c.DeleteInstance(ctx, inst.ID); err != nil {
			return err
		}
		if _, err := c.WaitForEventFinished(ctx, inst.ID, linodego.EntityLinode, linodego.ActionLinodeDelete, time.Now().Add(-time.Minute), 120); err != nil {
			// WaitForEventFinished filters created on the wall clock; the
			// scenario's clock runs ahead, so this may find it at once.
			return err
		}
		_, err = c.GetInstance(ctx, inst.ID)
		var le *linodego.Error
		if !errors.As(err, &le) || le.Code != 404 {
			return errors.New("GetInstance after delete: want a 404")
		}
		return nil
	})

	// Volumes, as the CSI driver does it.
	run("volume", func() error {
		inst, err := c.CreateInstance(ctx, linodego.InstanceCreateOptions{Region: "us-east", Type: "g6-nanode-1", Label: "csi-node-1"})
		if err != nil {
			return err
		}
		vol, err := c.CreateVolume(ctx, linodego.VolumeCreateOptions{Label: "pvc-1", Region: "us-east", Size: 10})
		if err != nil {
			return err
		}
		if _, err := c.WaitForVolumeStatus(ctx, vol.ID, linodego.VolumeActive, 120); err != nil {
			return err
		}
		if _, err := c.AttachVolume(ctx, vol.ID, &linodego.VolumeAttachOptions{LinodeID: inst.ID}); err != nil {
			return err
		}
		if _, err := c.WaitForVolumeLinodeID(ctx, vol.ID, &inst.ID, 120); err != nil {
			return err
		}
		if err := c.DetachVolume(ctx, vol.ID); err != nil {
			return err
		}
		if _, err := c.WaitForVolumeLinodeID(ctx, vol.ID, nil, 120); err != nil {
			return err
		}
		return c.DeleteVolume(ctx, vol.ID)
	})

	// Domains, records and firewalls: created, changed, deleted.
	run("dns and firewall", func() error {
		d, err := c.CreateDomain(ctx, linodego.DomainCreateOptions{Domain: "judge.example", Type: linodego.DomainTypeMaster, SOAEmail: "admin@judge.example"})
		if err != nil {
			return err
		}
		r, err := c.CreateDomainRecord(ctx, d.ID, linodego.DomainRecordCreateOptions{Type: linodego.RecordTypeA, Name: "www", Target: "192.0.2.7"})
		if err != nil {
			return err
		}
		if _, err := c.UpdateDomainRecord(ctx, d.ID, r.ID, linodego.DomainRecordUpdateOptions{Target: "192.0.2.8"}); err != nil {
			return err
		}
		got, err := c.GetDomainRecord(ctx, d.ID, r.ID)
		if err != nil || got.Target != "192.0.2.8" {
			return errors.New("record not updated")
		}
		if _, err := c.UpdateDomain(ctx, d.ID, linodego.DomainUpdateOptions{Description: "judged"}); err != nil {
			return err
		}
		if err := c.DeleteDomainRecord(ctx, d.ID, r.ID); err != nil {
			return err
		}
		if err := c.DeleteDomain(ctx, d.ID); err != nil {
			return err
		}
		if _, err := c.GetDomain(ctx, d.ID); err == nil {
			return errors.New("domain still there after delete")
		}
		fw, err := c.CreateFirewall(ctx, linodego.FirewallCreateOptions{Label: "fw-judge",
			Rules: linodego.FirewallRuleSet{InboundPolicy: "DROP", OutboundPolicy: "ACCEPT"}})
		if err != nil {
			return err
		}
		if _, err := c.UpdateFirewall(ctx, fw.ID, linodego.FirewallUpdateOptions{Label: "fw-judged"}); err != nil {
			return err
		}
		f2, err := c.GetFirewall(ctx, fw.ID)
		if err != nil || f2.Label != "fw-judged" || f2.Rules.InboundPolicy != "DROP" {
			return errors.New("firewall not updated: " + strconv.Quote(f2.Label))
		}
		return c.DeleteFirewall(ctx, fw.ID)
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
