#include <cstdio>
int main() { std::puts("ledgerflow"); return 0; }
