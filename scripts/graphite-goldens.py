#!/usr/bin/env python3
"""Record graphite-web's answers as golden files for metricsd's parity test.

    python3 scripts/graphite-goldens.py [--scratch DIR] [--port-base 21000]

Needs Debian 12's graphite-web 1.1.8 and graphite-carbon 1.1.7
(apt-get install -y --no-install-recommends graphite-web graphite-carbon).
It lays out carbon-cache and graphite-web in a scratch directory on 127.0.0.1
(ports port-base+2..+4 and +80), with internal/httpapi/testdata/graphite/
storage-schemas.conf as carbon's schemas, feeds them a fixed data set, waits
until graphite-web serves every point, asks every request of requests() and
writes, into internal/httpapi/testdata/graphite/:

  data.txt      the data set, "key value timestamp" lines in the order sent
  goldens.json  [{"path": "/render?...", "status": 200, "body": "..."}, ...]

The data set's timestamps are absolute (a base a little in the past, since
whisper only keeps points inside its retention, recorded in data.txt), and so
are the requests' from/until: the goldens do not depend on when the test
runs. CI runs only the Go test (internal/httpapi/graphite_golden_test.go).
The layout of carbon and graphite-web follows the shared
/work/shared/graphite-peer/setup_graphite.sh.
"""
import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'internal', 'httpapi', 'testdata', 'graphite')


def layout(scratch, lp, pp, cq, wp):
    """Write carbon's and graphite-web's configuration under scratch."""
    for d in ('conf', 'storage/whisper', 'log/carbon', 'log/webapp', 'run', 'webapp'):
        os.makedirs(os.path.join(scratch, d), exist_ok=True)
    src = open('/etc/carbon/carbon.conf').read()

    def setkey(text, key, val):
        return re.compile(r'^(%s\s*=).*$' % re.escape(key), re.M).sub('%s = %s' % (key, val), text, count=1)
    for k, v in {'STORAGE_DIR': scratch + '/storage/', 'LOCAL_DATA_DIR': scratch + '/storage/whisper/',
                 'CONF_DIR': scratch + '/conf/', 'LOG_DIR': scratch + '/log/carbon/', 'PID_DIR': scratch + '/run/',
                 'USER': '', 'MAX_UPDATES_PER_SECOND': 'inf', 'MAX_CREATES_PER_MINUTE': 'inf',
                 'LINE_RECEIVER_PORT': lp, 'UDP_RECEIVER_PORT': lp, 'PICKLE_RECEIVER_PORT': pp,
                 'CACHE_QUERY_PORT': cq}.items():
        src = setkey(src, k, v)
    src = re.sub(r'^(\w+_INTERFACE\s*=).*$', r'\1 127.0.0.1', src, flags=re.M)
    src = src.replace('[cache]\n', '[cache]\nCARBON_METRIC_INTERVAL = 0\nENABLE_TAGS = True\n'
                      'GRAPHITE_URL = http://127.0.0.1:%s\n' % wp, 1)
    open(scratch + '/conf/carbon.conf', 'w').write(src)
    shutil.copy(os.path.join(OUT, 'storage-schemas.conf'), scratch + '/conf/storage-schemas.conf')
    open(scratch + '/webapp/goldens_local_settings.py', 'w').write('''
SECRET_KEY = 'metricsd-goldens-not-secret'
TIME_ZONE = 'UTC'
GRAPHITE_ROOT = '/usr/share/graphite-web'
CONF_DIR = '{S}/webapp'
STORAGE_DIR = '{S}/storage'
WHISPER_DIR = '{S}/storage/whisper/'
STANDARD_DIRS = ['{S}/storage/whisper/']
LOG_DIR = '{S}/log/webapp'
INDEX_FILE = '{S}/storage/index'
STATIC_ROOT = '/usr/share/graphite-web/static'
CARBONLINK_HOSTS = ['127.0.0.1:{CQ}:a']
DATABASES = {{'default': {{'NAME': '{S}/storage/graphite.db', 'ENGINE': 'django.db.backends.sqlite3',
                         'USER': '', 'PASSWORD': '', 'HOST': '', 'PORT': ''}}}}
FUNCTION_PLUGINS = []
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
DEFAULT_XFILES_FACTOR = 0
'''.format(S=scratch, CQ=cq))


def start(scratch, lp, wp):
    """Start carbon-cache and graphite-web; return their processes."""
    carbon = subprocess.Popen(
        ['carbon-cache', '--config=%s/conf/carbon.conf' % scratch, '--nodaemon',
         '--logdir=%s/log/carbon' % scratch, '--pidfile=%s/run/carbon-cache.pid' % scratch, 'start'],
        stdout=open(scratch + '/log/carbon-stdout.log', 'w'), stderr=subprocess.STDOUT)
    env = dict(os.environ, PYTHONPATH=scratch + '/webapp', GRAPHITE_SETTINGS_MODULE='goldens_local_settings',
               DJANGO_SETTINGS_MODULE='graphite.settings')
    subprocess.run(['/usr/bin/python3', '-m', 'django', 'migrate', '--run-syncdb'], env=env, cwd=scratch + '/webapp',
                   stdout=open(scratch + '/log/migrate.log', 'w'), stderr=subprocess.STDOUT, check=True)
    web = subprocess.Popen(['/usr/bin/python3', '-m', 'django', 'runserver', '127.0.0.1:%s' % wp, '--noreload'],
                           env=env, cwd=scratch + '/webapp',
                           stdout=open(scratch + '/log/webapp-stdout.log', 'w'), stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen('http://127.0.0.1:%s/version' % wp, timeout=2).read()
            socket.create_connection(('127.0.0.1', int(lp)), timeout=2).close()
            return carbon, web
        except OSError:
            time.sleep(0.5)
    raise SystemExit('graphite did not come up; see %s/log' % scratch)


def dataset(base):
    """The fixed data set: (key, value, timestamp) in the order sent, with
    gaps, NaN, duplicate timestamps (the last wins), unaligned timestamps
    (one per slot), counters with a reset, several steps and families."""
    pts = []
    hosts = {'web1': 0.0, 'web2': 10.0, 'db1': 20.0}
    for h, off in hosts.items():
        for kind, mult in (('user', 7), ('system', 3)):
            for i in range(360):  # one hour at 10 s
                ts = base - 3600 + i * 10
                if h == 'web2' and 100 <= i < 160:
                    continue  # a 10-minute gap
                if h == 'db1' and kind == 'system' and i % 7 == 3:
                    continue  # scattered holes
                v = (i * mult) % 100 + off + 0.25
                pts.append(('servers.%s.cpu.%s' % (h, kind), v, ts))
    for i in range(360):
        ts = base - 3600 + i * 10
        if i % 11 == 5:
            pts.append(('servers.web1.cpu.idle', 'nan', ts))
            continue
        if i % 13 == 4:
            ts += 3  # unaligned: snapped down to the slot
        pts.append(('servers.web1.cpu.idle', 50 + (i % 17) * 1.5, ts))
    # Duplicates of aligned timestamps (not in the unaligned slots: two
    # timestamps in one slot are kept differently, see docs/graphite.md).
    dups = [i for i in range(0, 360, 9) if i % 13 != 4]
    for i in dups:
        pts.append(('servers.web1.cpu.idle', -1.0, base - 3600 + i * 10))  # overwritten below
    for i in dups:
        pts.append(('servers.web1.cpu.idle', 99.5, base - 3600 + i * 10))  # duplicate: the last wins
    for nic, rate in (('eth0', 125), ('eth1', 40)):
        total = 1000.0
        for i in range(360):
            ts = base - 3600 + i * 10
            total += rate * 10 + (i % 5) * 3
            if nic == 'eth0' and i == 200:
                total = 50.0  # a counter reset
            pts.append(('net.%s.bytes' % nic, total, ts))
    for i in range(360):
        ts = base - 3600 + i * 10
        pts.append(('neg.x', (i % 21) - 10.5, ts))
        if i % 4 == 0:
            pts.append(('hits.a', float(i % 6), ts))
        pts.append(('hits.b', 2.0, ts))
    for name, f in (('a', lambda i: i % 60), ('b', lambda i: 100 - i % 40)):
        for i in range(900):  # 15 minutes at 1 s
            ts = base - 900 + i
            if name == 'b' and 300 <= i < 330:
                continue
            pts.append(('sec.course.%s' % name, float(f(i)), ts))
    for i in range(360):  # 6 hours at 60 s
        ts = base - 6 * 3600 + i * 60
        pts.append(('min.slow.x', float(i % 30) * 2, ts))
    # Tagged series, in carbon's normalized form (tags sorted).
    for host, dc, off in (('web1', 'east', 0), ('web2', 'east', 5), ('db1', 'west', 50)):
        for i in range(0, 360, 2):
            ts = base - 3600 + i * 10
            pts.append(('disk.used;dc=%s;host=%s' % (dc, host), float(off + i % 40), ts))
            pts.append(('disk.free;dc=%s;host=%s' % (dc, host), float(100 - off - i % 40), ts))
    return pts


def fmt(v):
    return v if isinstance(v, str) else repr(float(v))


def expected_counts(pts, steps):
    """Slots with a value per key, as whisper keeps them."""
    slots = {}
    for k, v, ts in pts:
        if v == 'nan':
            continue
        st = steps(k)
        slots.setdefault(k, set()).add(ts - ts % st)
    return {k: len(s) for k, s in slots.items()}


def step_of(key):
    if key.startswith('sec.'):
        return 1
    if key.startswith('min.'):
        return 60
    return 10


def get(wp, path, timeout=60):
    url = 'http://127.0.0.1:%s%s' % (wp, path)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get('Content-Type', ''), r.read().decode('utf-8')
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get('Content-Type', ''), e.read().decode('utf-8', 'replace')


def wait_tagged(wp, pts):
    """Wait until carbon has registered every tagged series with
    graphite-web's tag database."""
    want = sorted({k for k, _, _ in pts if ';' in k})
    deadline = time.time() + 120
    while time.time() < deadline:
        status, _, body = get(wp, '/tags/findSeries?' + urllib.parse.urlencode({'expr': 'name=~disk.*'}))
        if status == 200 and sorted(json.loads(body)) == want:
            return
        time.sleep(1)
    raise SystemExit('graphite-web never listed every tagged series')


def wait_served(wp, pts, base):
    want = expected_counts(pts, step_of)
    deadline = time.time() + 300
    pending = dict(want)
    while pending and time.time() < deadline:
        for key in list(pending):
            q = urllib.parse.urlencode({'target': key, 'from': base - 7 * 3600, 'until': base, 'format': 'json'})
            status, _, body = get(wp, '/render?' + q)
            if status != 200:
                continue
            series = json.loads(body.replace('1e9999', 'null'))
            have = sum(1 for v, _ in series[0]['datapoints'] if v is not None) if series else 0
            if have == pending[key]:
                del pending[key]
        if pending:
            time.sleep(1)
    if pending:
        raise SystemExit('graphite-web never served every point of %s' % sorted(pending))


def requests(base):
    """Every request to record: (path, query) pairs, absolute times only."""
    f, u = base - 3600, base
    out = []

    def render(target, **kw):
        q = [('target', t) for t in (target if isinstance(target, list) else [target])]
        q += [('from', str(kw.pop('frm', f))), ('until', str(kw.pop('until', u)))]
        kw.setdefault('format', 'json')  # graphite-web's default is a PNG
        q += [(k, str(v)) for k, v in kw.items()]
        out.append('/render?' + urllib.parse.urlencode(q))

    S = 'servers.*.cpu.user'
    # Paths, globs, the step grid and time forms.
    for t in ['servers.web1.cpu.user', S, 'servers.{web1,db1}.cpu.*', 'servers.web[12].cpu.system',
              'servers.web?.cpu.user', 'servers.web1.cpu.idle', 'net.*.bytes', 'sec.course.*', 'min.slow.x',
              'no.such.metric', 'servers.*.cpu.none']:
        render(t)
    render('servers.web1.cpu.user', frm=f + 5, until=u - 5)
    render('servers.web1.cpu.user', frm=f - 1, until=f + 60)
    render('servers.web1.cpu.idle', frm=f + 13, until=f + 97)
    render('sec.course.a', frm=u - 120, until=u - 60)
    render('min.slow.x', frm=base - 6 * 3600, until=base)
    render('servers.web1.cpu.user', frm=time.strftime('%H:%M_%Y%m%d', time.gmtime(f)),
           until=time.strftime('%H:%M_%Y%m%d', time.gmtime(u)))
    render(S, frm=u, until=f)  # reversed bounds
    # maxDataPoints and consolidateBy.
    for mdp in (1, 7, 20, 100, 359, 360, 1000):
        render(S, maxDataPoints=mdp)
    render('sec.course.*', frm=u - 900, until=u, maxDataPoints=50)
    render(['servers.web1.cpu.user', 'min.slow.x'], frm=base - 6 * 3600, until=base, maxDataPoints=100)
    for cf in ('sum', 'average', 'min', 'max', 'first', 'last'):
        render('consolidateBy(%s,"%s")' % (S, cf), maxDataPoints=13)
    # Formats.
    for fm in ('json', 'csv', 'raw'):
        render(['servers.web2.cpu.user', 'sec.course.b'], frm=u - 900, until=u, format=fm)
    render('servers.web1.cpu.idle', format='csv')
    render('servers.web1.cpu.idle', noNullPoints='1')
    # Functions, typical arguments.
    fns = [
        'aliasSub(%s, "(^.*$)", "\\1 A")' % S,
        'aliasSub(servers.web1.cpu.user, "(^.*$)", "\\1 B")',
        'aliasSub(%s, "servers\\.([^.]*)\\..*", "host \\1")' % S,
        'aliasSub(sumSeries(%s), "(^.*$)", "\\1 C")' % S,
        'alias(%s, "all users")' % S,
        'aliasByNode(%s, 1)' % S, 'aliasByNode(%s, 1, 3)' % S, 'aliasByNode(%s, -1)' % S,
        'aliasByNode(sumSeries(servers.*.cpu.*), 1)',
        'aliasByMetric(%s)' % S, 'aliasByMetric(scale(%s, 2))' % S,
        'sumSeries(%s)' % S, 'sum(%s)' % S, 'sumSeries(servers.web1.cpu.*, servers.db1.cpu.user)',
        'averageSeries(%s)' % S, 'avg(servers.*.cpu.system)',
        'maxSeries(%s)' % S, 'minSeries(%s)' % S, 'diffSeries(servers.web1.cpu.user, servers.web2.cpu.user)',
        'multiplySeries(servers.web1.cpu.user, servers.web2.cpu.user)', 'countSeries(%s)' % S,
        'stddevSeries(%s)' % S, 'percentileOfSeries(%s, 50)' % S, 'percentileOfSeries(%s, 90, true)' % S,
        'rangeOfSeries(%s)' % S,
        'divideSeries(servers.web1.cpu.user, servers.web1.cpu.system)',
        'divideSeries(%s, servers.db1.cpu.user)' % S,
        'asPercent(%s)' % S, 'asPercent(servers.web1.cpu.user, servers.web1.cpu.system)',
        'asPercent(%s, 200)' % S, 'asPercent(servers.*.cpu.*, servers.*.cpu.user, 1)',
        'asPercent(servers.*.cpu.*, None, 1)',
        'group(servers.web1.cpu.user, net.eth0.bytes)',
        'scale(%s, 2)' % S, 'scale(%s, 0.5)' % S, 'offset(%s, -10)' % S, 'absolute(neg.x)', 'invert(neg.x)',
        'transformNull(servers.web2.cpu.user)', 'transformNull(servers.web2.cpu.user, -1)',
        'transformNull(servers.web2.cpu.user, 0, servers.web1.cpu.user)',
        'keepLastValue(servers.web2.cpu.user)', 'keepLastValue(servers.web2.cpu.user, 30)',
        'keepLastValue(servers.web1.cpu.idle, 1)',
        'movingAverage(%s, 5)' % S, 'movingAverage(servers.web2.cpu.user, "1min")',
        'movingAverage(servers.web2.cpu.user, 10, 0.5)',
        'movingSum(servers.web1.cpu.user, 3)', 'movingMin(servers.web1.cpu.idle, 6)',
        'movingMax(servers.web1.cpu.idle, "2min")', 'movingMedian(servers.web1.cpu.user, 4)',
        'aliasByNode(movingAverage(%s, 6), 1)' % S,
        'summarize(%s, "5min")' % S, 'summarize(servers.web1.cpu.user, "5min", "avg")',
        'summarize(servers.web1.cpu.user, "7min", "max", true)', 'summarize(hits.a, "1h", "sum")',
        'summarize(servers.web2.cpu.user, "15min", "last")',
        'smartSummarize(%s, "5min")' % S, 'smartSummarize(servers.web1.cpu.user, "7min", "average")',
        'smartSummarize(servers.web1.cpu.user, "1h", "sum", "hours")',
        'hitcount(hits.a, "1min")', 'hitcount(hits.b, "5min")', 'hitcount(hits.b, "5min", true)',
        'timeShift(%s, "1h")' % S, 'timeShift(servers.web1.cpu.user, "10min")',
        'timeShift(servers.web1.cpu.user, "-5min", false)',
        'delay(servers.web1.cpu.user, 3)', 'delay(servers.web1.cpu.user, -2)',
        'derivative(net.*.bytes)', 'nonNegativeDerivative(net.*.bytes)',
        'nonNegativeDerivative(net.eth0.bytes, 100000)', 'perSecond(net.*.bytes)', 'integral(hits.b)',
        'sortByMaxima(%s)' % S, 'sortByMinima(%s)' % S, 'sortByTotal(%s)' % S, 'sortByName(%s)' % S,
        'sortByName(%s, false, true)' % S, 'sortBy(%s)' % S, 'sortBy(%s, "max", true)' % S,
        'sortBy(%s, "last")' % S,
        'highestMax(%s, 2)' % S, 'highestCurrent(%s, 1)' % S, 'highestAverage(%s, 2)' % S,
        'lowestCurrent(%s, 1)' % S, 'lowestAverage(%s, 2)' % S, 'limit(%s, 2)' % S,
        'exclude(%s, "web")' % S, 'exclude(servers.*.cpu.*, "user$")', 'grep(%s, "db")' % S,
        'groupByNode(servers.*.cpu.*, 1)', 'groupByNode(servers.*.cpu.*, 3, "sum")',
        'groupByNode(servers.*.cpu.*, 1, "sumSeries")', 'groupByNodes(servers.*.cpu.*, "max", 1, 3)',
        'groupByNodes(servers.*.cpu.*, "average", 3)',
        'removeBelowValue(%s, 50)' % S, 'removeAboveValue(%s, 50)' % S,
        'nPercentile(%s, 50)' % S, 'nPercentile(servers.web1.cpu.idle, 95)',
        'constantLine(100)', 'constantLine(1.5)', 'threshold(42)', 'threshold(42, "limit")',
        'color(%s, "red")' % S, 'lineWidth(%s, 2)' % S, 'dashed(%s)' % S, 'alpha(%s, 0.5)' % S,
        'stacked(%s)' % S, 'secondYAxis(%s)' % S,
        'consolidateBy(%s, "max")' % S,
        'servers.web1.cpu.user | scale(3) | alias("piped")',
        'sumSeries(%s) | aliasSub("(^.*$)", "\\1 D")' % S,
        'aliasByNode(summarize(movingAverage(servers.*.cpu.user, "1min"), "10min", "max"), 1)',
        'asPercent(sumSeries(servers.*.cpu.user), sumSeries(servers.*.cpu.*))',
        'sumSeries(sec.course.a, servers.web1.cpu.user)',
        'removeEmptySeries(servers.*.cpu.none)', 'removeEmptySeries(servers.web*.cpu.user, 0.9)',
        'aggregate(%s, "sum")' % S, 'aggregate(%s, "max", 0.9)' % S, 'highest(%s, 2, "max")' % S,
        'lowest(%s)' % S, 'movingWindow(%s, 5, "median")' % S, 'movingWindow(servers.web2.cpu.user, "1min", "sum", 0.5)',
        'substr(%s, 1, 3)' % S, 'substr(%s, 2)' % S,
        'legendValue(%s, "avg")' % S, 'legendValue(%s, "max", "last", "total")' % S,
        'legendValue(servers.*.cpu.none, "avg")', 'cactiStyle(%s)' % S, 'cactiStyle(net.*.bytes)',
        'cactiStyle(%s, units="b")' % S,
        # Tags (carbon ENABLE_TAGS, graphite-web's local tag database).
        "seriesByTag('name=disk.used')", "seriesByTag('name=disk.used', 'dc=east')",
        "seriesByTag('host=~web.*')", "seriesByTag('name=disk.used', 'host!=web1')",
        "seriesByTag('name=~disk.*', 'dc!=~we.*')", "seriesByTag('name=servers.web1.cpu.user')",
        'disk.used;dc=west;host=db1',
        "sumSeries(seriesByTag('name=disk.used'))", "averageSeries(seriesByTag('dc=east'))",
        "groupByTags(seriesByTag('name=disk.used'), 'sum', 'dc')",
        "groupByTags(seriesByTag('name=~disk.*'), 'average', 'name', 'dc')",
        "groupByTags(seriesByTag('name=~disk.*'), 'maxSeries', 'host')",
        "aliasByTags(seriesByTag('name=disk.used'), 'host', 'dc')",
        "aliasByTags(seriesByTag('name=disk.used'), 1, 'host')",
        "aliasByNode(seriesByTag('name=disk.used'), 0, 'dc')",
        "scale(seriesByTag('name=disk.free', 'host=db1'), 2)",
        "aliasSub(seriesByTag('name=disk.used'), '(^.*$)', '\\1 A')",
        "movingAverage(seriesByTag('name=disk.used', 'host=web1'), 3)",
    ]
    for t in fns:
        render(t)
    for t in ('movingAverage(%s, 5)' % S, 'summarize(%s, "10min")' % S, 'sumSeries(%s)' % S):
        render(t, maxDataPoints=20)
        render(t, format='csv')
    # Grafana's panel query shape: several targets, maxDataPoints, the wrapper.
    render(['aliasSub(servers.*.cpu.user, "(^.*$)", "\\1 A")', 'aliasSub(sumSeries(servers.*.cpu.system), "(^.*$)", "\\1 B")'],
           maxDataPoints=300, format='json')
    # Find and expand.
    for q in ('*', 'servers.*', 'servers.*.cpu.*', 'servers.web*', 'servers.{web1,db1}.cpu.u*', 'sec.*.*',
              'no.such.*', 'servers.web1.cpu.user'):
        out.append('/metrics/find?' + urllib.parse.urlencode({'query': q}))
    out.append('/metrics/find?' + urllib.parse.urlencode({'query': 'servers.*', 'wildcards': '1'}))
    out.append('/metrics/find?' + urllib.parse.urlencode({'query': 'servers.*.cpu.*', 'leavesOnly': '1'}))
    for q in (['servers.*'], ['servers.*.cpu.*'], ['servers.*', 'net.*']):
        out.append('/metrics/expand?' + urllib.parse.urlencode([('query', x) for x in q]))
        out.append('/metrics/expand?' + urllib.parse.urlencode([('query', x) for x in q] + [('groupByExpr', '1')]))
    out.append('/metrics/expand?' + urllib.parse.urlencode({'query': 'servers.*.cpu.*', 'leavesOnly': '1'}))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scratch', default='/tmp/metricsd-goldens')
    ap.add_argument('--port-base', type=int, default=21000)
    a = ap.parse_args()
    lp, pp, cq, wp = (str(a.port_base + d) for d in (3, 4, 2, 80))
    shutil.rmtree(a.scratch, ignore_errors=True)
    layout(a.scratch, lp, pp, cq, wp)
    carbon, web = start(a.scratch, lp, wp)
    try:
        base = (int(time.time()) // 3600) * 3600 - 3600
        pts = dataset(base)
        lines = ['%s %s %d' % (k, fmt(v), ts) for k, v, ts in pts]
        with socket.create_connection(('127.0.0.1', int(lp))) as s:
            s.sendall(('\n'.join(lines) + '\n').encode())
        with open(os.path.join(OUT, 'data.txt'), 'w') as fh:
            fh.write('# base %d: key value timestamp, in the order sent to carbon\n' % base)
            fh.write('\n'.join(lines) + '\n')
        wait_tagged(wp, pts)
        wait_served(wp, pts, base)
        goldens = []
        for path in requests(base):
            status, ctype, body = get(wp, path)
            goldens.append({'path': path, 'status': status, 'content_type': ctype.split(';')[0], 'body': body})
        with open(os.path.join(OUT, 'goldens.json'), 'w') as fh:
            json.dump(goldens, fh, indent=1, sort_keys=True)
            fh.write('\n')
        ok = sum(1 for g in goldens if g['status'] == 200)
        print('recorded %d answers (%d with status 200) into %s' % (len(goldens), ok, OUT))
    finally:
        for p in (web, carbon):
            p.send_signal(signal.SIGTERM)
        for p in (web, carbon):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == '__main__':
    main()
