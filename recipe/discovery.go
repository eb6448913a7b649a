package recipe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/paddock/paddock/client"
)

// DiscoveryOptions configure a ServiceDiscovery.
type DiscoveryOptions struct {
	// WriteEnabled writes the instances' "enabled" field, as Curator's
	// JsonInstanceSerializer(payloadClass, false). By default instances are written as
	// Curator's default serializer (compatible mode) writes them, without it.
	WriteEnabled bool
}

// ServiceDiscovery is Curator's ServiceDiscovery (curator-x-discovery): instances of a
// service named name are nodes /basePath/name/id holding the instance's JSON as Curator's
// JsonInstanceSerializer writes it, so that Go and Java processes discover each other.
// DYNAMIC instances are ephemeral nodes; the others are persistent.
//
// Guarantees: the instances registered through it are registered again (deleted and
// created, so that watchers fire) whenever the Session reconnects, in particular with a new
// session after StateLost, until they are unregistered or the discovery is closed. Queries
// read the ensemble directly.
type ServiceDiscovery struct {
	s    *Session
	base string
	opts DiscoveryOptions
	err  error

	regMu sync.Mutex // serializes (re-)registrations and Close

	mu       sync.Mutex
	services map[string]ServiceInstance // guarded by mu: registered instances by id
	started  bool                       // guarded by mu
	closed   bool                       // guarded by mu
	unlisten func()
}

// NewServiceDiscovery returns a discovery under basePath.
func NewServiceDiscovery(s *Session, basePath string, opts DiscoveryOptions) *ServiceDiscovery {
	return &ServiceDiscovery{s: s, base: basePath, opts: opts, err: validatePath(basePath), services: make(map[string]ServiceInstance)}
}

// Start registers the instances registered before it and keeps them registered across
// reconnections from then on.
func (d *ServiceDiscovery) Start(ctx context.Context) error {
	if d.err != nil {
		return d.err
	}
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return ErrNotStarted
	}
	d.started = true
	d.unlisten = d.s.Listen(func(st ConnState) {
		if st == StateReconnected || st == StateConnected {
			d.s.background(func(ctx context.Context) {
				if err := d.reRegister(ctx); err != nil {
					d.s.log.Info("service discovery: re-registering", "err", err)
				}
			})
		}
	})
	d.mu.Unlock()
	return d.reRegister(ctx)
}

func (d *ServiceDiscovery) reRegister(ctx context.Context) error {
	d.regMu.Lock()
	defer d.regMu.Unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	ids := make([]string, 0, len(d.services))
	for id := range d.services {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	d.mu.Unlock()
	var errs []error
	for _, id := range ids {
		d.mu.Lock()
		inst, ok := d.services[id]
		d.mu.Unlock()
		if ok {
			errs = append(errs, d.register(ctx, inst))
		}
	}
	return errors.Join(errs...)
}

func (d *ServiceDiscovery) path(name, id string) string {
	return join(join(d.base, name), id)
}

// register is Curator's internalRegisterService: create the node, or delete and create it
// again when it exists.
func (d *ServiceDiscovery) register(ctx context.Context, inst ServiceInstance) error {
	data := inst.MarshalCurator(d.opts.WriteEnabled)
	path := d.path(inst.Name, inst.ID)
	mode := client.ModePersistent
	switch inst.ServiceType {
	case ServiceDynamic, "":
		mode = client.ModeEphemeral
	case ServiceDynamicSequential:
		mode = client.ModeEphemeralSequential
	}
	return d.s.retry(ctx, func(c *client.Client) error {
		for try := 0; try < 2; try++ {
			_, err := create(ctx, c, path, data, mode)
			if !errors.Is(err, client.ErrNodeExists) {
				return err
			}
			if err := ignoreNoNode(c.Delete(ctx, path, client.AnyVersion)); err != nil {
				return err
			}
		}
		return nil
	})
}

// RegisterService registers an instance (and keeps it registered once Start has been
// called; before Start it is only remembered).
func (d *ServiceDiscovery) RegisterService(ctx context.Context, inst ServiceInstance) error {
	if d.err != nil {
		return d.err
	}
	if inst.Name == "" || inst.ID == "" {
		return fmt.Errorf("recipe: service instance needs a name and an id")
	}
	d.regMu.Lock()
	defer d.regMu.Unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.services[inst.ID] = inst
	started := d.started
	d.mu.Unlock()
	if !started {
		return nil
	}
	return d.register(ctx, inst)
}

// UpdateService replaces the data of a registered instance.
func (d *ServiceDiscovery) UpdateService(ctx context.Context, inst ServiceInstance) error {
	d.regMu.Lock()
	defer d.regMu.Unlock()
	d.mu.Lock()
	if _, ok := d.services[inst.ID]; !ok {
		d.mu.Unlock()
		return fmt.Errorf("recipe: service not registered: %s/%s", inst.Name, inst.ID)
	}
	d.services[inst.ID] = inst
	d.mu.Unlock()
	data := inst.MarshalCurator(d.opts.WriteEnabled)
	return d.s.retry(ctx, func(c *client.Client) error {
		_, err := c.SetData(ctx, d.path(inst.Name, inst.ID), data, client.AnyVersion)
		return err
	})
}

// UnregisterService removes an instance (guaranteed delete of its node).
func (d *ServiceDiscovery) UnregisterService(ctx context.Context, inst ServiceInstance) error {
	d.regMu.Lock()
	defer d.regMu.Unlock()
	d.mu.Lock()
	delete(d.services, inst.ID)
	d.mu.Unlock()
	return d.s.deleteGuaranteed(ctx, d.path(inst.Name, inst.ID))
}

// QueryForNames returns the names of the services that have (or had) instances.
func (d *ServiceDiscovery) QueryForNames(ctx context.Context) ([]string, error) {
	var names []string
	err := d.s.retry(ctx, func(c *client.Client) error {
		var err error
		names, err = c.GetChildren(ctx, d.base)
		return err
	})
	if errors.Is(err, client.ErrNoNode) {
		return nil, nil
	}
	slices.Sort(names)
	return names, err
}

// QueryForInstances returns the instances of a service, ordered by id.
func (d *ServiceDiscovery) QueryForInstances(ctx context.Context, name string) ([]ServiceInstance, error) {
	var ids []string
	err := d.s.retry(ctx, func(c *client.Client) error {
		var err error
		ids, err = c.GetChildren(ctx, join(d.base, name))
		return err
	})
	if errors.Is(err, client.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	var out []ServiceInstance
	for _, id := range ids {
		inst, ok, err := d.QueryForInstance(ctx, name, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, inst)
		}
	}
	return out, nil
}

// QueryForInstance returns one instance, and false if it does not exist.
func (d *ServiceDiscovery) QueryForInstance(ctx context.Context, name, id string) (ServiceInstance, bool, error) {
	var data []byte
	err := d.s.retry(ctx, func(c *client.Client) error {
		var err error
		data, _, err = c.GetData(ctx, d.path(name, id))
		return err
	})
	if errors.Is(err, client.ErrNoNode) {
		return ServiceInstance{}, false, nil
	}
	if err != nil {
		return ServiceInstance{}, false, err
	}
	inst, err := UnmarshalCurator(data)
	if err != nil {
		return ServiceInstance{}, false, fmt.Errorf("%s: %w", d.path(name, id), err)
	}
	return inst, true, nil
}

// Close unregisters every instance registered through the discovery and stops
// re-registering.
func (d *ServiceDiscovery) Close(ctx context.Context) error {
	d.regMu.Lock()
	defer d.regMu.Unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	if d.unlisten != nil {
		d.unlisten()
	}
	services := d.services
	d.services = map[string]ServiceInstance{}
	d.mu.Unlock()
	var errs []error
	for _, inst := range services {
		errs = append(errs, d.s.deleteGuaranteed(ctx, d.path(inst.Name, inst.ID)))
	}
	return errors.Join(errs...)
}
