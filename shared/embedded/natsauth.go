package embedded

import (
	"crypto/subtle"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSAuth walls the embedded NATS server: the center's own services connect as one
// user with every permission; each tenant connects with its name as user and one of its
// API keys as password, and may publish and subscribe only where Permissions says (its
// own workers' and events' subjects), and answer only the requests it received. Anyone
// else is refused.
type NATSAuth struct {
	// ServiceUser and ServicePassword are the services' credentials.
	ServiceUser, ServicePassword string
	// Tenant reports whether key is one of tenant's API keys.
	Tenant func(tenant, key string) bool
	// Permissions are a tenant's subjects.
	Permissions func(tenant string) (publish, subscribe []string)
}

// Check is the server's custom authentication.
func (a *NATSAuth) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o == nil || o.Username == "" {
		return false
	}
	if o.Username == a.ServiceUser {
		if subtle.ConstantTimeCompare([]byte(o.Password), []byte(a.ServicePassword)) != 1 {
			return false
		}
		c.RegisterUser(&server.User{Username: o.Username})
		return true
	}
	if a.Tenant == nil || !a.Tenant(o.Username, o.Password) {
		return false
	}
	pub, sub := a.Permissions(o.Username)
	c.RegisterUser(&server.User{Username: o.Username, Permissions: &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: sub},
		// A reply to a request it received: a task's end, a flow's answer.
		Response: &server.ResponsePermission{MaxMsgs: 1, Expires: 24 * time.Hour},
	}})
	return true
}
