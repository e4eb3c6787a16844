/* lsmpp_net: Lua binding of the socket layer ("smpp.socket" objects, which
 * follow the cqueues protocol: pollfd(), events(), timeout()) and of poll()
 * over many of them, for lua/smpp/loop.lua. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsmpp.h"
#include "smpp_net.h"

#define SOCKET_MT "smpp.socket"
#define READ_CHUNK 65536

typedef struct lsocket {
    int fd;
    int connecting;
    int listening;
    const char *events; /* what the last operation waits for: "r" or "w" */
    int lowat;          /* SO_RCVLOWAT: octets poll waits for (1: any) */
    smpp_net_connect c;
} lsocket;

static lsocket *check_socket(lua_State *L)
{
    return luaL_checkudata(L, 1, SOCKET_MT);
}

static lsocket *open_socket(lua_State *L)
{
    lsocket *s = check_socket(L);
    if (s->fd < 0)
        luaL_argerror(L, 1, "socket is closed");
    return s;
}

static lsocket *new_socket(lua_State *L, int fd)
{
    lsocket *s = lua_newuserdata(L, sizeof *s);
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->c.fd = -1;
    s->events = "r";
    s->lowat = 1;
    luaL_getmetatable(L, SOCKET_MT);
    lua_setmetatable(L, -2);
    return s;
}

static int net_error(lua_State *L, const char *msg)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushliteral(L, "net");
    return 3;
}

/* tcp_connect(host, port) -> socket (connecting) | nil, message, "net" */
static int l_tcp_connect(lua_State *L)
{
    const char *host = luaL_checkstring(L, 1);
    lua_Integer port = luaL_checkinteger(L, 2);
    char err[512];
    lsocket *s = new_socket(L, -1);
    int fd = smpp_net_connect_start(&s->c, host, (int)port, err, sizeof err);
    if (fd < 0)
        return net_error(L, err);
    s->fd = fd;
    s->connecting = 1;
    s->events = "w";
    return 1;
}

/* socket:connect_step() -> true (connected) | false (wait for "w") | nil, message, "net" */
static int l_connect_step(lua_State *L)
{
    lsocket *s = open_socket(L);
    char err[512];
    int rc;
    if (!s->connecting) {
        lua_pushboolean(L, 1);
        return 1;
    }
    rc = smpp_net_connect_step(&s->c, err, sizeof err);
    s->fd = s->c.fd;
    if (rc == SMPP_NET_CONNECTED) {
        s->connecting = 0;
        s->events = "r";
        lua_pushboolean(L, 1);
        return 1;
    }
    if (rc == SMPP_NET_INPROGRESS) {
        lua_pushboolean(L, 0);
        return 1;
    }
    s->connecting = 0;
    s->fd = -1;
    return net_error(L, err);
}

/* tcp_listen(host, port [, backlog]) -> socket | nil, message, "net" */
static int l_tcp_listen(lua_State *L)
{
    const char *host = luaL_optstring(L, 1, NULL);
    lua_Integer port = luaL_checkinteger(L, 2);
    lua_Integer backlog = luaL_optinteger(L, 3, 128);
    char err[512];
    int fd = smpp_net_listen(host, (int)port, (int)backlog, err, sizeof err);
    lsocket *s;
    if (fd < 0)
        return net_error(L, err);
    s = new_socket(L, fd);
    s->listening = 1;
    return 1;
}

static int l_port(lua_State *L)
{
    char err[256];
    int port = smpp_net_local_port(open_socket(L)->fd, err, sizeof err);
    if (port < 0)
        return net_error(L, err);
    lua_pushinteger(L, port);
    return 1;
}

/* socket:accept() -> socket | false (wait for "r") | nil, message, "net" */
static int l_accept(lua_State *L)
{
    lsocket *s = open_socket(L);
    char err[512];
    int fd = smpp_net_accept(s->fd, err, sizeof err);
    if (fd == SMPP_NET_AGAIN) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (fd < 0)
        return net_error(L, err);
    new_socket(L, fd);
    return 1;
}

/* socket:read() -> data | false (wait for "r") | nil, "closed" | nil, message, "net" */
static int l_read(lua_State *L)
{
    lsocket *s = open_socket(L);
    char *p = lua_touserdata(L, lua_upvalueindex(1)); /* one chunk buffer per Lua state */
    char err[512];
    ssize_t n = smpp_net_read(s->fd, p, READ_CHUNK, err, sizeof err);
    s->events = "r";
    if (n == SMPP_NET_AGAIN) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (n == 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        lua_pushliteral(L, "closed");
        return 3;
    }
    if (n < 0)
        return net_error(L, err);
    lua_pushlstring(L, p, (size_t)n);
    return 1;
}

/* socket:write(data [, from]) -> octets written (0: wait for "w") | nil, message, "net" */
static int l_write(lua_State *L)
{
    lsocket *s = open_socket(L);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    lua_Integer from = luaL_optinteger(L, 3, 1);
    char err[512];
    ssize_t n;
    luaL_argcheck(L, from >= 1 && (size_t)from <= len + 1, 3, "out of range");
    n = smpp_net_write(s->fd, data + from - 1, len - (size_t)(from - 1), err, sizeof err);
    if (n == SMPP_NET_AGAIN) {
        s->events = "w";
        lua_pushinteger(L, 0);
        return 1;
    }
    if (n < 0)
        return net_error(L, err);
    s->events = "r";
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* socket:lowat(n): poll reports the socket readable once n octets have come
 * (or the stream ended); reads still take whatever is there. -> true | nil, message, "net" */
static int l_lowat(lua_State *L)
{
    lsocket *s = open_socket(L);
    lua_Integer n = luaL_checkinteger(L, 2);
    char err[512];
    luaL_argcheck(L, n >= 1 && n <= 65536, 2, "must be 1 to 65536");
    if ((int)n != s->lowat) {
        if (smpp_net_lowat(s->fd, (int)n, err, sizeof err) != 0)
            return net_error(L, err);
        s->lowat = (int)n;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_pollfd(lua_State *L)
{
    lua_pushinteger(L, check_socket(L)->fd);
    return 1;
}

static int l_events(lua_State *L)
{
    lua_pushstring(L, check_socket(L)->events);
    return 1;
}

static int l_timeout(lua_State *L)
{
    (void)check_socket(L);
    lua_pushnil(L);
    return 1;
}

static int l_close(lua_State *L)
{
    lsocket *s = check_socket(L);
    if (s->connecting)
        smpp_net_connect_cancel(&s->c);
    else if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->connecting = 0;
    return 0;
}

static int l_tostring(lua_State *L)
{
    lsocket *s = check_socket(L);
    lua_pushfstring(L, "smpp.socket (fd %d%s)", s->fd,
                    s->listening    ? ", listening"
                    : s->connecting ? ", connecting"
                                    : "");
    return 1;
}

/* poll(fds, events, timeout_ms [, ready]) -> ready, count: the ready events
 * per entry (0 when not ready) in the table ready (a new one when not
 * given), and how many entries are ready.
 * events: 1 read, 2 write, 3 both; timeout < 0 waits for ever. A signal ends
 * the wait early with nothing ready: the Lua loop around it looks at the time
 * and polls again, and on its way a hook set by the signal's handler (the
 * standalone interpreter's Ctrl-C, catch_interrupt's) gets to run. */
static int l_poll(lua_State *L)
{
    struct pollfd small[64], *pfd = small;
    lua_Integer timeout = luaL_optinteger(L, 3, -1);
    int n, i, rc, count = 0;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    n = (int)lua_rawlen(L, 1);
    if (n > 64 && (pfd = malloc((size_t)n * sizeof *pfd)) == NULL)
        return luaL_error(L, "smpp.poll: out of memory");
    for (i = 0; i < n; i++) {
        lua_Integer ev;
        lua_rawgeti(L, 1, i + 1);
        lua_rawgeti(L, 2, i + 1);
        pfd[i].fd = (int)lua_tointeger(L, -2);
        ev = lua_tointeger(L, -1);
        pfd[i].events = (short)(((ev & 1) ? POLLIN : 0) | ((ev & 2) ? POLLOUT : 0));
        pfd[i].revents = 0;
        lua_pop(L, 2);
    }
    rc = poll(pfd, (nfds_t)n, timeout < 0 ? -1 : timeout > INT_MAX ? INT_MAX : (int)timeout);
    if (lua_istable(L, 4))
        lua_settop(L, 4);
    else
        lua_createtable(L, n, 0);
    for (i = 0; i < n; i++) {
        short r = rc < 0 ? 0 : pfd[i].revents; /* failed (EINTR): nothing ready */
        int ready = 0;
        if (r & (POLLERR | POLLHUP | POLLNVAL)) /* let the next read or write tell */
            ready = pfd[i].events & POLLIN ? 1 : 2;
        ready |= ((r & POLLIN) ? 1 : 0) | ((r & POLLOUT) ? 2 : 0);
        count += ready != 0;
        lua_pushinteger(L, ready);
        lua_rawseti(L, -2, i + 1);
    }
    if (pfd != small)
        free(pfd);
    lua_pushinteger(L, count);
    return 2;
}

/* Signals become readable octets on a pipe (the self-pipe trick), so a
 * scheduler can wait for them like for any socket. */
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(signal_pipe[1], &b, 1) < 0) { /* full: a signal is already waiting */
    }
    errno = saved;
}

/* signals("INT", "TERM", ...) -> a socket that reads the signals' numbers */
static int l_signals(lua_State *L)
{
    static const char *const names[] = {"INT", "TERM", "HUP", "USR1", "USR2", NULL};
    static const int numbers[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    int i, n = lua_gettop(L);
    if (signal_pipe[0] < 0) {
        if (pipe(signal_pipe) != 0)
            return net_error(L, "signals: pipe failed");
        for (i = 0; i < 2; i++) {
            fcntl(signal_pipe[i], F_SETFL, fcntl(signal_pipe[i], F_GETFL) | O_NONBLOCK);
            fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    for (i = 1; i <= n; i++) {
        struct sigaction sa;
        int which = luaL_checkoption(L, i, NULL, names);
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(numbers[which], &sa, NULL);
    }
    new_socket(L, dup(signal_pipe[0]));
    return 1;
}

/* Ctrl-C for interactive programs (bin/smpp shell): SIGINT makes the main Lua
 * thread raise "interrupted!" at its next instruction, the way the standalone
 * interpreter stops the script it runs; but every SIGINT does, not only the
 * first. While one is on its way, SIGINT is left at its default, so that a
 * second one ends the process (C code that never returns still stops). */
static lua_State *interrupt_L; /* the main thread of the state that asked */
static struct sigaction interrupt_before;

static void on_interrupt(int sig);

static void catch_sigint(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked poll or read returns (EINTR) */
    sigaction(SIGINT, &sa, NULL);
}

static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    catch_sigint(on_interrupt);
    luaL_error(L, "interrupted!");
}

static void on_interrupt(int sig)
{
    int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    catch_sigint(SIG_DFL);
    (void)sig;
    if (interrupt_L != NULL)
        lua_sethook(interrupt_L, interrupt_hook, mask, 1);
}

/* When the state closes: SIGINT back as it was, if nobody changed it since. */
static int release_interrupt(lua_State *L)
{
    struct sigaction now;
    (void)L;
    if (sigaction(SIGINT, NULL, &now) == 0 && now.sa_handler == on_interrupt)
        sigaction(SIGINT, &interrupt_before, NULL);
    interrupt_L = NULL;
    return 0;
}

/* catch_interrupt() -> true: from now on SIGINT raises "interrupted!" in the
 * main thread (called there; one Lua state of the process at a time). */
static int l_catch_interrupt(lua_State *L)
{
    lua_State *main_L;
#ifdef LUA_RIDX_MAINTHREAD
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    main_L = lua_tothread(L, -1);
    lua_pop(L, 1);
#else
    if (!lua_pushthread(L))
        return luaL_error(L, "catch_interrupt: call it from the main thread");
    lua_pop(L, 1);
    main_L = L;
#endif
    if (interrupt_L != NULL && interrupt_L != main_L)
        return luaL_error(L, "catch_interrupt: another Lua state catches SIGINT already");
    if (interrupt_L == NULL) {
        /* the registry's sentinel lets go when the state closes */
        lua_newuserdata(L, 1);
        lua_newtable(L);
        lua_pushcfunction(L, release_interrupt);
        lua_setfield(L, -2, "__gc");
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, "smpp.catch_interrupt");
        sigaction(SIGINT, NULL, &interrupt_before);
        interrupt_L = main_L;
    }
    catch_sigint(on_interrupt);
    lua_pushboolean(L, 1);
    return 1;
}

void lsmpp_open_net(lua_State *L)
{
    static const luaL_Reg methods[] = {{"connect_step", l_connect_step},
                                       {"accept", l_accept},
                                       {"read", l_read},
                                       {"write", l_write},
                                       {"port", l_port},
                                       {"lowat", l_lowat},
                                       {"pollfd", l_pollfd},
                                       {"events", l_events},
                                       {"timeout", l_timeout},
                                       {"close", l_close},
                                       {NULL, NULL}};
    static const luaL_Reg fns[] = {
        {"tcp_connect", l_tcp_connect}, {"tcp_listen", l_tcp_listen},           {"poll", l_poll},
        {"signals", l_signals},         {"catch_interrupt", l_catch_interrupt}, {NULL, NULL}};
    luaL_newmetatable(L, SOCKET_MT);
    lua_newtable(L);
    lua_newuserdata(L, READ_CHUNK);
    luaL_setfuncs(L, methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
    lua_pushinteger(L, READ_CHUNK); /* the most one socket:read() returns */
    lua_setfield(L, -2, "read_chunk");
}
