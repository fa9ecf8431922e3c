/* Test plugin: a shared object without the descriptor symbol. */
__attribute__((visibility("default"))) int not_a_plugin(void) { return 42; }
