//! The live-config cell: a value a reload replaces while requests keep
//! being served.

use std::sync::Arc;

use parking_lot::RwLock;

/// A value replaced wholesale at a reload; readers get the current snapshot
/// and keep it for the rest of their request.
#[derive(Debug)]
pub struct Live<T>(RwLock<Arc<T>>);

impl<T> Live<T> {
    pub fn new(v: T) -> Self {
        Self(RwLock::new(Arc::new(v)))
    }
    pub fn get(&self) -> Arc<T> {
        self.0.read().clone()
    }
    pub fn set(&self, v: T) {
        *self.0.write() = Arc::new(v);
    }
}

impl<T: Default> Default for Live<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}
