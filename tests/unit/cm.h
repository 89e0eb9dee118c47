/* cm.h - cmocka includes in the order cmocka wants. */
#ifndef KF_TEST_CM_H
#define KF_TEST_CM_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#endif
