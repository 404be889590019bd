// ThreadSanitizer suppressions for api_test (used only in a -fsanitize=thread build).
//
// Debian's libpistache and librocksdb are not instrumented. RocksDB publishes memtable
// entries through its own atomics, so a reader copying a value the writer thread just
// inserted reads as a race with MemTable::Add. And in libpistache: TSan sees its calls to operator delete but not the
// atomic reference counts (shared_ptr/weak_ptr of peers, promises) that order those
// deletes after our threads' last use, so every hand-off of a ResponseWriter between a
// Pistache worker and the store's writer thread reads as a race. Only frees called from
// inside libpistache are suppressed; races in our own code still fail the run.
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libpistache.so.0\n"
         "race:Pistache::Tcp::Transport::removePeer\n"
         "race:librocksdb.so.7.8\n";
}
