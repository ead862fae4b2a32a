#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "redox-drm/idr.h"

static int marker[4];

static void lowest_free_first(void **state)
{
	struct idr idr;
	idr_init(&idr, 1, 0);
	assert_int_equal(idr_alloc(&idr, &marker[0]), 1);
	assert_int_equal(idr_alloc(&idr, &marker[1]), 2);
	assert_int_equal(idr_alloc(&idr, &marker[2]), 3);
	assert_ptr_equal(idr_remove(&idr, 2), &marker[1]);
	assert_ptr_equal(idr_remove(&idr, 1), &marker[0]);
	/* Freed ids come back smallest first, like the kernel's idr_alloc(.., 1, 0). */
	assert_int_equal(idr_alloc(&idr, &marker[3]), 1);
	assert_int_equal(idr_alloc(&idr, &marker[3]), 2);
	assert_int_equal(idr_alloc(&idr, &marker[3]), 4);
	assert_null(idr_find(&idr, 0));
	assert_null(idr_find(&idr, 5));
	assert_null(idr_remove(&idr, 99));
	idr_destroy(&idr);
}

static void reserved_ids_stay_taken(void **state)
{
	struct idr idr;
	idr_init(&idr, 1, 0);
	assert_int_equal(idr_alloc(&idr, &marker[0]), 1);
	assert_ptr_equal(idr_replace(&idr, 1, NULL), &marker[0]);
	assert_null(idr_find(&idr, 1));
	assert_int_equal(idr_alloc(&idr, &marker[1]), 2);
	assert_int_equal(idr.count, 2);
	idr_remove(&idr, 1);
	assert_int_equal(idr_alloc(&idr, &marker[1]), 1);
	idr_destroy(&idr);
}

static void bounded(void **state)
{
	struct idr idr;
	idr_init(&idr, 10, 12);
	assert_int_equal(idr_alloc(&idr, &marker[0]), 10);
	assert_int_equal(idr_alloc(&idr, &marker[0]), 11);
	assert_int_equal(idr_alloc(&idr, &marker[0]), 12);
	assert_true(idr_alloc(&idr, &marker[0]) < 0);
	idr_remove(&idr, 11);
	assert_int_equal(idr_alloc(&idr, &marker[0]), 11);
	idr_destroy(&idr);
}

static void count_cb(uint32_t id, void *ptr, void *data)
{
	(*(int *)data)++;
}

static void many(void **state)
{
	struct idr idr;
	idr_init(&idr, 1, 0);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(idr_alloc(&idr, &marker[i & 3]), i + 1);
	for (int i = 1; i <= 10000; i += 2)
		idr_remove(&idr, (uint32_t)i);
	int n = 0;
	idr_for_each(&idr, count_cb, &n);
	assert_int_equal(n, 5000);
	assert_int_equal(idr_alloc(&idr, &marker[0]), 1);
	assert_int_equal(idr_alloc(&idr, &marker[0]), 3);
	idr_destroy(&idr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lowest_free_first),
		cmocka_unit_test(reserved_ids_stay_taken),
		cmocka_unit_test(bounded),
		cmocka_unit_test(many),
	};
	return cmocka_run_group_tests_name("idr", tests, NULL, NULL);
}
