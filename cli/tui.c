/*
 * cli/tui.c - the live terminal view (see tui.h).
 *
 * Threads: the table's listener runs on the service's update thread; it
 * builds a frame (the visible rows as text, with the cells the cycle
 * changed) at exactly the version the cycle made, under the view's mutex,
 * and wakes the main thread through a pipe.  The main thread owns the
 * terminal: it reads keys, handles resizes and signals, rebuilds the frame
 * when the user scrolls, and draws.  Plain ANSI escape sequences (no
 * ncurses): the screen is small and fully redrawn each time, one write(2)
 * per frame, and the escapes used (alternate screen, cursor position, erase
 * line, SGR) are understood by every terminal emulator in use.
 */
#include "tui.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "grid.h"

/* ---- the terminal ---- */

static struct termios g_saved;
/* Set from signal handlers (on any thread): lock-free atomics. */
static _Atomic int g_raw, g_quit, g_resized, g_continued;
static int g_wake[2] = {-1, -1};

static const char k_enter[] = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
static const char k_leave[] = "\x1b[0m\x1b[?25h\x1b[?1049l";

static void write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/* Async-signal-safe: puts the terminal back as it was. */
static void term_restore(void) {
  if (!g_raw) return;
  write_all(STDOUT_FILENO, k_leave, sizeof k_leave - 1);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved);
  g_raw = 0;
}

static int term_raw(void) {
  if (g_raw) return 0;
  struct termios t = g_saved;
  t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | IEXTEN); /* ISIG stays: Ctrl-C is SIGINT */
  t.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0) return -1;
  g_raw = 1;
  write_all(STDOUT_FILENO, k_enter, sizeof k_enter - 1);
  return 0;
}

static void wake(void) {
  int saved = errno;
  if (g_wake[1] >= 0) {
    ssize_t r = write(g_wake[1], "x", 1);
    (void)r;
  }
  errno = saved;
}

static void on_quit_signal(int sig) {
  (void)sig;
  g_quit = 1;
  wake();
}

static void on_winch(int sig) {
  (void)sig;
  g_resized = 1;
  wake();
}

/* Ctrl-Z: restore the terminal, then stop for real. */
static void on_tstp(int sig) {
  (void)sig;
  int saved = errno;
  term_restore();
  signal(SIGTSTP, SIG_DFL);
  raise(SIGTSTP);
  errno = saved;
}

static void on_cont(int sig) {
  (void)sig;
  g_continued = 1;
  wake();
}

/* A crash: restore the terminal, then die of the signal. */
static void on_fatal(int sig) {
  term_restore();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void term_size(int *rows, int *cols) {
  struct winsize ws;
  *rows = 24;
  *cols = 80;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
    *rows = ws.ws_row;
    *cols = ws.ws_col;
  }
}

bool td_tui_available(void) {
  const char *term = getenv("TERM");
  return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0);
}

/* ---- frames ---- */

typedef struct frame {
  int64_t version, size; /* of the table when built */
  int64_t top;           /* position of the first row shown */
  td_grid g;             /* the rows shown, as text */
  unsigned char *marks;  /* per cell: changed in the last cycle */
  uint64_t *hash;        /* per row: hash of its cells */
} frame;

static void frame_reset(frame *f) {
  td_grid_reset(&f->g);
  free(f->marks);
  free(f->hash);
  memset(f, 0, sizeof *f);
}

static uint64_t row_hash(const td_grid *g, int64_t r) {
  uint64_t h = 1469598103934665603ULL;
  for (int64_t c = 0; c < g->n_cols; c++) {
    for (const char *s = g->cells[r * g->n_cols + c]; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
  }
  return h;
}

static bool rows_equal(const td_grid *a, int64_t ra, const td_grid *b, int64_t rb) {
  for (int64_t c = 0; c < a->n_cols; c++)
    if (strcmp(a->cells[ra * a->n_cols + c], b->cells[rb * b->n_cols + c]) != 0) return false;
  return true;
}

typedef struct view {
  td_table *t, *source;
  td_service *svc;
  const char *title;
  pthread_mutex_t mu;
  frame cur;
  int64_t top;         /* wanted first row */
  int64_t left;        /* first column shown */
  bool bottom;         /* stay at the last rows */
  int rows, cols;      /* the terminal */
  size_t *widths;      /* per column: widest cell seen (capped) */
  bool dirty;
  /* the footer's figures */
  double rate;         /* source rows per second */
  double t_prev;       /* when the rate's previous sample was taken */
  int64_t src_prev;
  int64_t src_size;    /* the source's rows (its own listener keeps it) */
  double cycle_ms;
  int64_t cpu_prev;
  char failure[TD_ERROR_MESSAGE_SIZE + 64];
  td_error err;
  int rc;
} view;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t body_rows(const view *v) { return v->rows > 3 ? v->rows - 3 : 1; }

/* Display width of UTF-8 text: code points. */
static size_t text_width(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* Builds v->cur from the table's current version.  With an update (a
 * cycle), marks what the cycle changed; without, keeps the marks of rows
 * still shown (scrolling).  Called with v->mu held. */
static void build_frame(view *v, const td_table_update *u) {
  frame nf;
  memset(&nf, 0, sizeof nf);
  nf.version = td_table_version(v->t);
  nf.size = td_table_size(v->t);
  int64_t h = body_rows(v);
  if (v->bottom) v->top = nf.size - h;
  if (v->top > nf.size - h) v->top = nf.size - h;
  if (v->top < 0) v->top = 0;
  nf.top = v->top;
  int64_t end = nf.top + h < nf.size ? nf.top + h : nf.size;
  struct ArrowSchema sch;
  td_error e;
  if (td_table_schema(v->t, &sch, &e) != TD_OK) return;
  int rc = td_grid_init(&nf.g, &sch, &e);
  if (rc == TD_OK && end > nf.top) {
    struct ArrowArray rows;
    rc = td_table_read(v->t, NULL, 0, nf.top, end, &rows, &e);
    if (rc == TD_OK) {
      rc = td_grid_add(&nf.g, &sch, &rows, &e);
      rows.release(&rows);
    }
  }
  sch.release(&sch);
  int64_t n = nf.g.n_rows, nc = nf.g.n_cols;
  if (rc == TD_OK) {
    nf.marks = calloc((size_t)(n * nc) + 1, 1);
    nf.hash = calloc((size_t)n + 1, sizeof *nf.hash);
    if (!nf.marks || !nf.hash) rc = TD_ENOMEM;
  }
  if (rc) {
    if (!v->failure[0]) snprintf(v->failure, sizeof v->failure, "reading rows: %s", e.message);
    frame_reset(&nf);
    return;
  }
  const frame *pf = &v->cur;
  for (int64_t r = 0; r < n; r++) {
    nf.hash[r] = row_hash(&nf.g, r);
    int64_t pos = nf.top + r, prow = pos - pf->top;
    bool prev_has_pos = pf->g.n_rows > 0 && prow >= 0 && prow < pf->g.n_rows;
    unsigned char *m = &nf.marks[r * nc];
    if (!u) { /* same version: keep the marks of the rows still shown */
      if (prev_has_pos && pf->version == nf.version) memcpy(m, &pf->marks[prow * nc], (size_t)nc);
      continue;
    }
    bool added = false;
    for (int64_t i = 0; !u->replaced && i < u->n_added; i++)
      added |= u->added[i].region < 0 && pos >= u->added[i].first_row && pos < u->added[i].end_row;
    bool same_row_before = false;
    for (int64_t pr = 0; !added && pr < pf->g.n_rows && !same_row_before; pr++)
      same_row_before = pf->hash[pr] == nf.hash[r] && rows_equal(&pf->g, pr, &nf.g, r);
    if (added || (!same_row_before && pos >= pf->size)) {
      memset(m, 1, (size_t)nc); /* a new row */
    } else if (!same_row_before && prev_has_pos) {
      for (int64_t c = 0; c < nc; c++)
        m[c] = strcmp(nf.g.cells[r * nc + c], pf->g.cells[prow * nc + c]) != 0;
    }
  }
  /* Column widths: the widest cell seen so far, capped. */
  if (!v->widths) v->widths = calloc((size_t)nc + 1, sizeof *v->widths);
  for (int64_t c = 0; v->widths && c < nc; c++) {
    if (v->widths[c] == 0) v->widths[c] = text_width(nf.g.names[c]);
    for (int64_t r = 0; r < n; r++) {
      size_t w = text_width(nf.g.cells[r * nc + c]);
      if (w > v->widths[c]) v->widths[c] = w;
    }
    if (v->widths[c] > TD_TUI_CELL_MAX) v->widths[c] = TD_TUI_CELL_MAX;
  }
  frame_reset(&v->cur);
  v->cur = nf;
  v->dirty = true;
}

/* The footer's figures, after a cycle.  Called with v->mu held. */
static void take_figures(view *v) {
  double t = now_s();
  int64_t src = v->src_size;
  if (t - v->t_prev >= 1.0) {
    double r = (double)(src - v->src_prev) / (t - v->t_prev);
    v->rate = v->t_prev > 0 ? r : 0;
    v->t_prev = t;
    v->src_prev = src;
  }
  if (v->svc) {
    td_counters c;
    td_service_counters(v->svc, &c);
    v->cycle_ms = (double)(c.update_cpu_ns - v->cpu_prev) / 1e6;
    v->cpu_prev = c.update_cpu_ns;
  }
}

/* The source table's listener (when it is not the view). */
static void on_source(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  view *v = ctx;
  (void)e;
  pthread_mutex_lock(&v->mu);
  if (u) v->src_size = u->size_after;
  (void)t;
  v->dirty = true;
  pthread_mutex_unlock(&v->mu);
  wake();
}

static void on_cycle(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  view *v = ctx;
  pthread_mutex_lock(&v->mu);
  if (e) snprintf(v->failure, sizeof v->failure, "the table failed: %s", e->message);
  else {
    if (v->source == t) v->src_size = u->size_after;
    take_figures(v);
    build_frame(v, u);
  }
  v->dirty = true;
  pthread_mutex_unlock(&v->mu);
  wake();
}

/* ---- drawing ---- */

typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* Appends `s` in exactly `w` columns: cut (ending in '~') or padded. */
static void put_cell(buf *b, const char *s, size_t w) {
  size_t have = text_width(s);
  if (have <= w) {
    puts_(b, s);
    for (size_t i = have; i < w; i++) put(b, " ", 1);
    return;
  }
  if (w == 0) return;
  size_t cps = 0;
  const char *p = s;
  while (*p && cps < w - 1) {
    p++;
    while (((unsigned char)*p & 0xC0) == 0x80) p++;
    cps++;
  }
  put(b, s, (size_t)(p - s));
  put(b, "~", 1);
}

static void goto_line(buf *b, int line) {
  char s[32];
  snprintf(s, sizeof s, "\x1b[%d;1H", line);
  puts_(b, s);
}

/* A line of cells from columns left.. that fit in the width. */
static int64_t put_row(buf *b, const view *v, char *const *cells, const unsigned char *marks, const char *style) {
  const td_grid *g = &v->cur.g;
  size_t x = 0, W = (size_t)v->cols;
  int64_t c = v->left;
  for (; c < g->n_cols && x < W; c++) {
    size_t w = v->widths ? v->widths[c] : 8;
    if (x > 0) {
      if (x + 3 > W) break;
      put(b, " | ", 3);
      x += 3;
    }
    if (x + w > W) w = W - x;
    if (marks && marks[c]) puts_(b, "\x1b[7m");
    else if (style) puts_(b, style);
    put_cell(b, cells[c], w);
    if ((marks && marks[c]) || style) puts_(b, "\x1b[0m");
    x += w;
  }
  puts_(b, "\x1b[K");
  return c;
}

static void fmt_count(char *s, size_t n, double x) {
  if (x >= 1e9) snprintf(s, n, "%.1fG", x / 1e9);
  else if (x >= 1e6) snprintf(s, n, "%.1fM", x / 1e6);
  else if (x >= 1e4) snprintf(s, n, "%.1fk", x / 1e3);
  else snprintf(s, n, "%.0f", x);
}

static void draw(view *v) {
  buf b = {0};
  const frame *f = &v->cur;
  const td_grid *g = &f->g;
  int line = 1;
  goto_line(&b, line++);
  char title[512];
  snprintf(title, sizeof title, "tabledata: %s", v->title);
  puts_(&b, "\x1b[1m");
  put_cell(&b, title, (size_t)v->cols);
  puts_(&b, "\x1b[0m\x1b[K");
  int64_t last_col = v->left;
  if (g->n_cols > 0) {
    goto_line(&b, line++);
    last_col = put_row(&b, v, g->names, NULL, "\x1b[1;4m");
    for (int64_t r = 0; r < g->n_rows && line < v->rows; r++) {
      goto_line(&b, line++);
      put_row(&b, v, &g->cells[r * g->n_cols], &f->marks[r * g->n_cols], NULL);
    }
  }
  for (; line < v->rows; line++) {
    goto_line(&b, line);
    puts_(&b, "\x1b[K");
  }
  char src[32], rate[32], foot[TD_ERROR_MESSAGE_SIZE + 512];
  fmt_count(src, sizeof src, (double)v->src_size);
  fmt_count(rate, sizeof rate, v->rate);
  int64_t last_row = f->top + g->n_rows;
  if (v->failure[0]) snprintf(foot, sizeof foot, "%s  (q quits)", v->failure);
  else
    snprintf(foot, sizeof foot,
             "version %lld | %lld rows | source %s rows, %s rows/s | cycle %.2f ms | rows %lld-%lld cols %lld-%lld of "
             "%lld%s | q quit, arrows scroll",
             (long long)f->version, (long long)f->size, src, rate, v->cycle_ms,
             (long long)(g->n_rows ? f->top + 1 : 0), (long long)last_row, (long long)(v->left + 1),
             (long long)last_col, (long long)g->n_cols, v->bottom ? " (following the end)" : "");
  goto_line(&b, v->rows);
  puts_(&b, "\x1b[1m");
  put_cell(&b, foot, (size_t)v->cols - 1);
  puts_(&b, "\x1b[0m\x1b[K");
  write_all(STDOUT_FILENO, b.p, b.n);
  free(b.p);
}

/* ---- keys ---- */

/* Applies the keys in `s`; returns false on q. */
static bool keys(view *v, const char *s, size_t n) {
  int64_t h = body_rows(v);
  for (size_t i = 0; i < n; i++) {
    int k = (unsigned char)s[i];
    if (k == 0x1b && i + 2 < n && (s[i + 1] == '[' || s[i + 1] == 'O')) {
      char c = s[i + 2];
      i += 2;
      if (c >= '0' && c <= '9') { /* ESC [ n ~ */
        while (i + 1 < n && s[i + 1] != '~') i++;
        if (i + 1 < n) i++;
        k = c == '5' ? 'P' : c == '6' ? 'N' : c == '1' || c == '7' ? 'g' : c == '4' || c == '8' ? 'G' : 0;
      } else {
        k = c == 'A' ? 'k' : c == 'B' ? 'j' : c == 'C' ? 'l' : c == 'D' ? 'h' : c == 'H' ? 'g' : c == 'F' ? 'G' : 0;
      }
    }
    switch (k) {
      case 'q':
      case 'Q': return false;
      case 'h': if (v->left > 0) v->left--; break;
      case 'l': if (v->left + 1 < v->cur.g.n_cols) v->left++; break;
      case 'k': v->bottom = false; v->top--; break;
      case 'j': v->top++; break;
      case 'P': v->bottom = false; v->top -= h; break;
      case 'N': v->top += h; break;
      case 'g': v->bottom = false; v->top = 0; break;
      case 'G': v->bottom = true; break;
      default: break;
    }
  }
  if (v->top < 0) v->top = 0;
  return true;
}

/* ---- the loop ---- */

int td_tui_run(td_table *t, td_table *source, td_service *svc, const char *title, double duration, td_error *err) {
  view v;
  memset(&v, 0, sizeof v);
  v.t = t;
  v.source = source ? source : t;
  v.svc = svc;
  v.title = title;
  pthread_mutex_init(&v.mu, NULL);
  if (tcgetattr(STDIN_FILENO, &g_saved) != 0 || pipe(g_wake) != 0) {
    err->code = TD_EIO;
    snprintf(err->message, sizeof err->message, "cannot set up the terminal: %s", strerror(errno));
    pthread_mutex_destroy(&v.mu);
    return TD_EIO;
  }
  fcntl(g_wake[0], F_SETFL, O_NONBLOCK);
  fcntl(g_wake[1], F_SETFL, O_NONBLOCK);
  g_quit = g_resized = g_continued = 0;
  struct sigaction sa, old[9];
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  static const int sigs[9] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP, SIGCONT, SIGSEGV, SIGABRT};
  void (*handlers[9])(int) = {on_quit_signal, on_quit_signal, on_quit_signal, on_quit_signal, on_winch,
                              on_tstp,        on_cont,        on_fatal,       on_fatal};
  for (int i = 0; i < 9; i++) {
    sa.sa_handler = handlers[i];
    sa.sa_flags = i == 7 || i == 8 ? (int)SA_RESETHAND : 0;
    sigaction(sigs[i], &sa, &old[i]);
  }
  int rc = TD_OK;
  if (term_raw() != 0) {
    rc = err->code = TD_EIO;
    snprintf(err->message, sizeof err->message, "cannot set up the terminal: %s", strerror(errno));
  }
  int64_t lid = -1;
  if (rc == TD_OK) {
    pthread_mutex_lock(&v.mu);
    term_size(&v.rows, &v.cols);
    v.t_prev = now_s();
    v.src_prev = v.src_size = td_table_size(v.source);
    if (svc) {
      td_counters c;
      td_service_counters(svc, &c);
      v.cpu_prev = c.update_cpu_ns;
    }
    build_frame(&v, NULL);
    draw(&v);
    v.dirty = false;
    pthread_mutex_unlock(&v.mu);
    rc = td_table_add_listener(t, on_cycle, &v, &lid, err);
  }
  int64_t sid = -1;
  if (rc == TD_OK && v.source != t) rc = td_table_add_listener(v.source, on_source, &v, &sid, err);
  double t0 = now_s();
  while (rc == TD_OK && !g_quit) {
    struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {g_wake[0], POLLIN, 0}};
    int to = 200;
    if (duration > 0) {
      double left = duration - (now_s() - t0);
      if (left <= 0) break;
      if (left * 1000 < to) to = (int)(left * 1000) + 1;
    }
    int np = poll(p, 2, to);
    if (np < 0 && errno != EINTR) break;
    char drain[64];
    while (read(g_wake[0], drain, sizeof drain) > 0) {
    }
    bool rebuild = false;
    if (np > 0 && (p[0].revents & POLLIN)) {
      char kb[64];
      ssize_t n = read(STDIN_FILENO, kb, sizeof kb);
      if (n > 0) {
        pthread_mutex_lock(&v.mu);
        bool go = keys(&v, kb, (size_t)n);
        pthread_mutex_unlock(&v.mu);
        if (!go) break;
        rebuild = true;
      }
    } else if (np > 0 && (p[0].revents & (POLLHUP | POLLERR))) {
      break; /* the terminal is gone */
    }
    if (g_continued) {
      g_continued = 0;
      signal(SIGTSTP, on_tstp);
      tcgetattr(STDIN_FILENO, &g_saved);
      term_raw();
      rebuild = true;
    }
    if (g_resized) {
      g_resized = 0;
      rebuild = true;
    }
    pthread_mutex_lock(&v.mu);
    if (rebuild) {
      term_size(&v.rows, &v.cols);
      build_frame(&v, NULL);
    }
    if (v.dirty && g_raw) {
      draw(&v);
      v.dirty = false;
    }
    pthread_mutex_unlock(&v.mu);
  }
  if (lid >= 0) td_table_remove_listener(t, lid);
  if (sid >= 0) td_table_remove_listener(v.source, sid);
  term_restore();
  for (int i = 0; i < 9; i++) sigaction(sigs[i], &old[i], NULL);
  close(g_wake[0]);
  close(g_wake[1]);
  g_wake[0] = g_wake[1] = -1;
  if (rc == TD_OK && v.rc) {
    rc = v.rc;
    *err = v.err;
  }
  frame_reset(&v.cur);
  free(v.widths);
  pthread_mutex_destroy(&v.mu);
  return rc;
}
