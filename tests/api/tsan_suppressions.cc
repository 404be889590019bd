// ThreadSanitizer suppressions for api_test (used only in a -fsanitize=thread build).
//
// Debian's libpistache and librocksdb are not instrumented: TSan sees the calls they
// make into libc (mutexes, memcpy, operator new/delete) but not their atomics.
// - RocksDB publishes memtable entries through its own atomics, so a reader copying a
//   value the writer thread just inserted reads as a race with MemTable::Add.
// - Pistache's write queue is a lock-free queue (atomics): a write queued on one of our
//   threads (Connection::PostToReactor's empty write) and taken off on the reactor in
//   handleWriteQueue reads as a race with the queue entry's allocation.
// - removePeer releases a peer's shared state through atomic reference counts.
// Nothing else is suppressed: connections are owned by our code only (not stored in
// Pistache's peer data), so their hand-offs between threads are all visible.
extern "C" const char* __tsan_default_suppressions() {
  return "race:Pistache::Tcp::Transport::handleWriteQueue\n"
         "race:Pistache::Tcp::Transport::removePeer\n"
         "race:librocksdb.so.7.8\n";
}
