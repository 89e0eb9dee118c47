/*
 * tree.h - scratch directory trees for the unit tests: removed with
 * nftw, never through a shell.
 * Runs in: unit tests only.
 */
#ifndef KF_TEST_TREE_H
#define KF_TEST_TREE_H

/* Removes path and all below it, links not followed; 0 or -1. */
int tree_remove(const char *path);

#endif
