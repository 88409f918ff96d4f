package weather

import (
	"container/list"
	"sync"
	"time"
)

// ttlCache is a size-bounded LRU whose entries also expire. It stores an
// error beside the value so that definitive negative answers ("no such
// place") can be cached like positive ones. A small hand-written LRU is
// used rather than a dependency: the bot needs a few hundred entries and
// nothing more clever.
type ttlCache[V any] struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	order *list.List // front = most recently used; elements hold *cacheEntry[V]
	items map[string]*list.Element
}

type cacheEntry[V any] struct {
	key     string
	val     V
	err     error
	expires time.Time
}

func newTTLCache[V any](max int, now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{max: max, now: now, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the live entry for key.
func (c *ttlCache[V]) get(key string) (cacheEntry[V], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return cacheEntry[V]{}, false
	}
	e := el.Value.(*cacheEntry[V])
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return cacheEntry[V]{}, false
	}
	c.order.MoveToFront(el)
	return *e, true
}

// put stores val (or err) for ttl; a non-positive ttl stores nothing.
func (c *ttlCache[V]) put(key string, val V, err error, ttl time.Duration) {
	if ttl <= 0 || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cacheEntry[V]{key: key, val: val, err: err, expires: c.now().Add(ttl)}
	if el, ok := c.items[key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry[V]).key)
	}
}

// len is the number of entries held, expired or not.
func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
