// ThreadSanitizer suppressions for events_test (used only in a -fsanitize=thread build).
//
// librocksdb is not instrumented: TSan sees its calls to intercepted functions (memcmp,
// operator delete) but not its atomics. A Get or an iterator holds a SuperVersion (and
// so the Version and its file metadata) through an atomic reference in a thread-local
// slot; when a flush or compaction later drops the last reference and deletes the old
// Version, TSan finds no happens-before from the reader's memcmp of a file's key range
// and reports a race. It is reproduced with the store's code before stream heads
// (SeekForPrev lookups) under the same load, and lies wholly inside RocksDB; only that
// frame is suppressed, so races in our own code still fail the build.
//
// Likewise a memtable entry: the writer thread's MemTable::Add copies the key and value
// in, then publishes the node with an atomic store in the skiplist; a Get on another
// thread (an append reading its new stream's version before it queues) that finds the
// node reads those bytes after an atomic load TSan does not see.
extern "C" const char* __tsan_default_suppressions() {
  return "race:rocksdb::Version::Unref\n"
         "race:rocksdb::MemTable::Add\n";
}
