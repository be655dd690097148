//! Coalescing identical in-flight requests: the first caller for a key does the work, every
//! caller that arrives while it runs waits for and shares the same answer. One wire request,
//! many waiters.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub struct Coalescer<K, V> {
    inflight: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Default for Coalescer<K, V> {
    fn default() -> Self {
        Coalescer {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Coalescer<K, V> {
    /// Runs `work` for `key` unless an identical call is already running, in which case its
    /// answer is shared. If the running caller is cancelled, a waiter takes over the work.
    pub async fn run<F, Fut>(&self, key: K, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = self.inflight.lock().entry(key.clone()).or_default().clone();
        let value = cell.get_or_init(work).await.clone();
        let mut inflight = self.inflight.lock();
        if inflight.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            inflight.remove(&key);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_identical_calls_do_the_work_once() {
        let c: Arc<Coalescer<String, u32>> = Arc::new(Coalescer::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut joins = Vec::new();
        for _ in 0..20 {
            let c = c.clone();
            let runs = runs.clone();
            joins.push(tokio::spawn(async move {
                c.run("k".to_string(), || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    7
                })
                .await
            }));
        }
        for j in joins {
            let v = tokio::time::timeout(Duration::from_secs(5), j).await;
            assert!(matches!(v, Ok(Ok(7))));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(c.inflight.lock().is_empty());
    }
}
