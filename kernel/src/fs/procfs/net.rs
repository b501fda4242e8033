//! `/proc/net`: files whose text the socket layer makes. The socket layer sits above the
//! files layer, so it registers each file's generator here at init ([`register`]); the
//! directory lists what is registered (`dev`, `route`, `tcp`, `udp`, ...).

use alloc::vec::Vec;

use crate::spinlock::SpinLock as Mutex;

/// A generator: the file's whole text.
pub type Generator = fn() -> Vec<u8>;

/// Most files `/proc/net` holds.
const MAX_FILES: usize = 16;

static FILES: Mutex<Vec<(&'static [u8], Generator)>> = Mutex::new(Vec::new());

/// Adds `/proc/net/<name>` (a second registration of a name replaces the first).
pub fn register(name: &'static [u8], generate: Generator) {
    let mut files = FILES.lock();
    if let Some(slot) = files.iter_mut().find(|(n, _)| *n == name) {
        slot.1 = generate;
    } else if files.len() < MAX_FILES && files.try_reserve(1).is_ok() {
        files.push((name, generate));
    }
}

/// The registered names with their numbers.
pub(crate) fn names() -> Vec<(&'static [u8], u8)> {
    FILES.lock().iter().enumerate().map(|(k, (n, _))| (*n, k as u8)).collect()
}

/// The text of file number `k` (the generator runs with no lock held here).
pub(crate) fn generate(k: u8) -> Option<Vec<u8>> {
    let generator = FILES.lock().get(k as usize).map(|(_, g)| *g)?;
    Some(generator())
}
