/*
 * keys/keys.c - table keys and location keys: construction, ordering,
 * hashing, formatting.
 */
#include "keys/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "util/alloc.h"
#include "util/error.h"

int td_table_key_new(const char *name, td_table_key **out, td_error *err) {
  if (!out) return td_err(err, TD_EINVAL, "td_table_key_new needs an out pointer");
  *out = NULL;
  if (!name) return td_err(err, TD_EINVAL, "a table key needs a name");
  td_table_key *k = td_calloc(1, sizeof *k);
  if (!k || !(k->name = td_strdup(name))) {
    td_free(k);
    return td_err_nomem(err, "creating a table key");
  }
  atomic_init(&k->refs, 1);
  k->hash = td_hash_bytes(name, strlen(name), 7);
  *out = k;
  return TD_OK;
}

td_table_key *td_table_key_retain(td_table_key *key) {
  if (key) atomic_fetch_add(&key->refs, 1);
  return key;
}

void td_table_key_release(td_table_key *key) {
  if (!key || atomic_fetch_sub(&key->refs, 1) != 1) return;
  td_free(key->name);
  td_free(key);
}

const char *td_table_key_name(const td_table_key *key) { return key ? key->name : NULL; }
bool td_table_key_equal(const td_table_key *a, const td_table_key *b) {
  return a == b || (a && b && a->hash == b->hash && strcmp(a->name, b->name) == 0);
}
uint64_t td_table_key_hash(const td_table_key *key) { return key ? key->hash : 0; }

/* ---- location keys ---- */

static void location_key_free(td_location_key *k) {
  for (int64_t i = 0; i < k->n; i++) {
    td_free(k->names ? k->names[i] : NULL);
    if (k->values && td_type_is_varlen(k->values[i].type) && !k->values[i].is_null)
      td_free((char *)k->values[i].v.s.ptr);
  }
  td_free(k->names);
  td_free(k->values);
  td_free(k->identity);
  td_free(k);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Partition names must be distinct: O(n log n), however many there are. */
static int check_distinct(const char *const *names, int64_t n, td_error *err) {
  if (n < 2) return TD_OK;
  if (n <= 8) {
    for (int64_t i = 1; i < n; i++)
      for (int64_t j = 0; j < i; j++)
        if (strcmp(names[i], names[j]) == 0)
          return td_err(err, TD_EINVAL, "partition column '%s' appears twice in a location key", names[i]);
    return TD_OK;
  }
  const char **sorted = td_malloc((size_t)n * sizeof *sorted);
  if (!sorted) return td_err_nomem(err, "creating a location key");
  memcpy(sorted, names, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_names);
  int rc = TD_OK;
  for (int64_t i = 1; i < n && rc == TD_OK; i++)
    if (strcmp(sorted[i], sorted[i - 1]) == 0)
      rc = td_err(err, TD_EINVAL, "partition column '%s' appears twice in a location key", sorted[i]);
  td_free(sorted);
  return rc;
}

int td_location_key_new(const char *identity, int64_t n, const char *const *names,
                        const td_value *values, td_location_key **out, td_error *err) {
  if (!out) return td_err(err, TD_EINVAL, "td_location_key_new needs an out pointer");
  *out = NULL;
  if (n < 0 || (n > 0 && (!names || !values)))
    return td_err(err, TD_EINVAL, "a location key needs a name and a value per partition column");
  for (int64_t i = 0; i < n; i++) {
    if (!names[i] || !names[i][0])
      return td_err(err, TD_EINVAL, "partition column %lld of a location key has no name", (long long)i);
    if (values[i].type == TD_TYPE_NONE && !values[i].is_null)
      return td_err(err, TD_EINVAL, "partition value '%s' has no type", names[i]);
  }
  int rc = check_distinct(names, n, err);
  if (rc) return rc;
  td_location_key *k = td_calloc(1, sizeof *k);
  if (!k) return td_err_nomem(err, "creating a location key");
  atomic_init(&k->refs, 1);
  k->identity = td_strdup(identity ? identity : "");
  k->names = n ? td_calloc((size_t)n, sizeof *k->names) : NULL;
  k->values = n ? td_calloc((size_t)n, sizeof *k->values) : NULL;
  if (!k->identity || (n && (!k->names || !k->values))) {
    location_key_free(k);
    return td_err_nomem(err, "creating a location key");
  }
  uint64_t h = td_hash_bytes(k->identity, strlen(k->identity), 11);
  for (int64_t i = 0; i < n; i++) {
    k->n = i + 1;
    k->values[i] = values[i];
    if (td_type_is_varlen(values[i].type) && !values[i].is_null) {
      k->values[i].v.s.ptr = NULL; /* not owned until copied */
      char *s = td_strndup(values[i].v.s.ptr ? values[i].v.s.ptr : "", values[i].v.s.len);
      if (!s) {
        k->values[i].is_null = true;
        location_key_free(k);
        return td_err_nomem(err, "creating a location key");
      }
      k->values[i].v.s.ptr = s;
    }
    k->names[i] = td_strdup(names[i]);
    if (!k->names[i]) {
      location_key_free(k);
      return td_err_nomem(err, "creating a location key");
    }
    h = h * 31 + td_hash_bytes(names[i], strlen(names[i]), 13);
    h = h * 31 + td_value_hash(&k->values[i]);
  }
  k->hash = h;
  *out = k;
  return TD_OK;
}

int td_location_key_from_arrow(const char *identity, struct ArrowSchema *schema,
                               struct ArrowArray *values, td_location_key **out, td_error *err) {
  if (!out) {
    td_arrow_schema_release(schema);
    td_arrow_array_release(values);
    return td_err(err, TD_EINVAL, "td_location_key_from_arrow needs an out pointer");
  }
  *out = NULL;
  int rc = TD_OK;
  td_schema s;
  td_schema_init(&s);
  const char **names = NULL;
  td_value *vals = NULL;
  if (!schema || !schema->release || !values || !values->release) {
    rc = td_location_key_new(identity, 0, NULL, NULL, out, err);
    goto done;
  }
  rc = td_schema_import(schema, &s, err);
  if (rc) goto done;
  if ((rc = td_struct_validate(values, err)) != TD_OK) {
    td_err_prefix(err, rc, "partition values: ");
    goto done;
  }
  if (values->length != 1 || values->n_children != s.n_fields) {
    rc = td_err(err, TD_ECONTRACT,
                "partition values must be one row with %lld columns, found %lld rows and %lld columns",
                (long long)s.n_fields, (long long)values->length, (long long)values->n_children);
    goto done;
  }
  names = td_calloc((size_t)s.n_fields + 1, sizeof *names);
  vals = td_calloc((size_t)s.n_fields + 1, sizeof *vals);
  if (!names || !vals) {
    rc = td_err_nomem(err, "reading partition values");
    goto done;
  }
  for (int64_t i = 0; i < s.n_fields; i++) {
    td_colview v;
    rc = td_array_validate(s.fields[i].type, values->children[i], err);
    if (!rc) rc = td_colview_init(&v, s.fields[i].type, values->children[i], err);
    if (rc) {
      td_err_prefix(err, rc, "partition column '%s': ", s.fields[i].name);
      goto done;
    }
    names[i] = s.fields[i].name;
    /* The struct's one row is child row `offset` (the child's own offset
     * is applied by the view); a null struct row makes every value null. */
    vals[i] = td_colview_value(&v, values->offset);
    if (td_struct_has_nulls(values)) vals[i] = td_value_null(s.fields[i].type);
  }
  rc = td_location_key_new(identity, s.n_fields, names, vals, out, err);
done:
  td_free(names);
  td_free(vals);
  td_schema_reset(&s);
  td_arrow_schema_release(schema);
  td_arrow_array_release(values);
  return rc;
}

int td_location_key_standalone(td_location_key **out, td_error *err) {
  return td_location_key_new("", 0, NULL, NULL, out, err);
}

td_location_key *td_location_key_retain(td_location_key *key) {
  if (key) atomic_fetch_add(&key->refs, 1);
  return key;
}

void td_location_key_release(td_location_key *key) {
  if (key && atomic_fetch_sub(&key->refs, 1) == 1) location_key_free(key);
}

const char *td_location_key_identity(const td_location_key *key) { return key ? key->identity : NULL; }
int64_t td_location_key_partition_count(const td_location_key *key) { return key ? key->n : 0; }
const char *td_location_key_partition_name(const td_location_key *key, int64_t i) {
  return key && i >= 0 && i < key->n ? key->names[i] : NULL;
}
const td_value *td_location_key_partition_value(const td_location_key *key, int64_t i) {
  return key && i >= 0 && i < key->n ? &key->values[i] : NULL;
}
const td_value *td_location_key_find(const td_location_key *key, const char *name) {
  if (!key || !name) return NULL;
  for (int64_t i = 0; i < key->n; i++)
    if (strcmp(key->names[i], name) == 0) return &key->values[i];
  return NULL;
}

int td_location_key_compare(const td_location_key *a, const td_location_key *b) {
  if (!a || !b) return (int)!!a - (int)!!b; /* NULL first */
  int64_t n = a->n < b->n ? a->n : b->n;
  for (int64_t i = 0; i < n; i++) {
    int c = td_value_compare(&a->values[i], &b->values[i]);
    if (c) return c;
  }
  if (a->n != b->n) return a->n < b->n ? -1 : 1;
  int c = strcmp(a->identity, b->identity);
  /* keys with other partition names are not equal: they order by name last,
   * so that compare == 0 exactly when td_location_key_equal */
  for (int64_t i = 0; !c && i < n; i++) c = strcmp(a->names[i], b->names[i]);
  return (c > 0) - (c < 0);
}

bool td_location_key_equal(const td_location_key *a, const td_location_key *b) {
  if (a == b) return true;
  if (!a || !b) return false;
  if (a->hash != b->hash || a->n != b->n || strcmp(a->identity, b->identity) != 0) return false;
  for (int64_t i = 0; i < a->n; i++)
    if (strcmp(a->names[i], b->names[i]) != 0 || !td_value_equal(&a->values[i], &b->values[i]))
      return false;
  return true;
}

uint64_t td_location_key_hash(const td_location_key *key) { return key ? key->hash : 0; }

size_t td_location_key_format(const td_location_key *key, char *buf, size_t size) {
  size_t used = 0;
  if (!buf) size = 0;
#define TD_AT_ (size ? buf + (used < size ? used : size) : NULL)
#define TD_LEFT_ (used < size ? size - used : 0)
#define TD_APPEND_(...)                        \
  do {                                         \
    int n_ = snprintf(TD_AT_, TD_LEFT_, __VA_ARGS__); \
    if (n_ > 0) used += (size_t)n_;            \
  } while (0)
  if (size) buf[0] = '\0';
  if (!key) {
    TD_APPEND_("(null)");
    return used;
  }
  for (int64_t i = 0; i < key->n; i++) {
    TD_APPEND_("%s%s=", i ? "/" : "", key->names[i]);
    /* The value straight into the buffer: a long string is neither cut nor
     * miscounted (the length returned is the whole text's). */
    used += td_value_format(&key->values[i], TD_AT_, TD_LEFT_);
  }
  if (key->identity[0]) TD_APPEND_("%s%s", key->n ? "#" : "", key->identity);
  if (!key->n && !key->identity[0]) TD_APPEND_("(standalone)");
#undef TD_APPEND_
#undef TD_LEFT_
#undef TD_AT_
  return used;
}
