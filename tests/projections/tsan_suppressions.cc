// ThreadSanitizer suppressions for projections_test (used only in a -fsanitize=thread
// build); the reasoning is that of tests/events/tsan_suppressions.cc.
//
// librocksdb is not instrumented: the store's writer thread copies a memtable entry in
// (MemTable::Add) and publishes it with an atomic store TSan does not see, so a test
// thread's Get that finds the entry (polling the read models while the writer catches
// them up) is reported as a race inside RocksDB; so is the memtable arena's new block
// (Arena::AllocateNewBlock) that such an entry lives in. Only those frames are
// suppressed.
extern "C" const char* __tsan_default_suppressions() {
  return "race:rocksdb::Version::Unref\n"
         "race:rocksdb::MemTable::Add\n"
         "race:rocksdb::Arena::AllocateNewBlock\n";
}
