#!/usr/bin/env python3
# A minimal upstream iSCSI target that misbehaves within RFC 7143, for
# tests/integration/passthrough-hostile.sh: it logs anyone in (no
# authentication, no digests), answers INQUIRY (a disk) and TEST UNIT
# READY, READ(10) with the Data-In asked for (a marker pattern),
# opcode C2h never, every other command with CHECK CONDITION (ILLEGAL
# REQUEST, INVALID COMMAND OPERATION CODE) *without* the U flag and
# residual (the RFC says a target "should" set them), and every task
# management request with FUNCTION COMPLETE.
# Usage: hostile_upstream.py PORT
import socket
import sys
import threading

MARKER = b'SECRET-OF-ANOTHER-INITIATOR-'


def recvn(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def pad(d):
    return d + b'\0' * ((4 - len(d) % 4) % 4)


def read_pdu(s):
    bhs = recvn(s, 48)
    ahs = bhs[4] * 4
    dlen = int.from_bytes(bhs[5:8], 'big')
    if ahs:
        recvn(s, ahs)
    data = recvn(s, dlen + ((4 - dlen % 4) % 4))[:dlen]
    return bhs, data


LOGIN_ANSWERS = (('InitialR2T', 'Yes'), ('ImmediateData', 'Yes'),
                 ('MaxBurstLength', '262144'), ('FirstBurstLength', '65536'),
                 ('MaxConnections', '1'), ('DataPDUInOrder', 'Yes'),
                 ('DataSequenceInOrder', 'Yes'), ('ErrorRecoveryLevel', '0'),
                 ('DefaultTime2Wait', '2'), ('DefaultTime2Retain', '0'),
                 ('MaxOutstandingR2T', '1'))


def login_answer(bhs, data, statsn):
    csg = (bhs[1] >> 2) & 3
    nsg = bhs[1] & 3
    keys = dict(kv.split('=', 1) for kv in data.decode().split('\0') if '=' in kv)
    ans = []
    if 'AuthMethod' in keys:
        ans.append('AuthMethod=None')
    for k in ('HeaderDigest', 'DataDigest'):
        if k in keys:
            ans.append(k + '=None')
    ans += [k + '=' + v for k, v in LOGIN_ANSWERS if k in keys]
    if csg == 1 or nsg == 3:
        ans.append('MaxRecvDataSegmentLength=262144')
    if csg == 0:
        ans.append('TargetPortalGroupTag=1')
    d = ('\0'.join(ans) + '\0').encode() if ans else b''
    r = bytearray(48)
    r[0] = 0x23
    r[1] = bhs[1]
    r[5:8] = len(d).to_bytes(3, 'big')
    r[8:14] = bhs[8:14]
    r[14:16] = b'\0\x01'  # TSIH 1
    r[16:20] = bhs[16:20]
    r[24:28] = statsn.to_bytes(4, 'big')
    cmdsn = int.from_bytes(bhs[24:28], 'big')
    r[28:32] = cmdsn.to_bytes(4, 'big')
    r[32:36] = (cmdsn + 64).to_bytes(4, 'big')
    return bytes(r) + pad(d)


def serve(c):
    statsn = 1
    try:
        while True:
            bhs, data = read_pdu(c)
            op = bhs[0] & 0x3f
            itt = bhs[16:20]
            cmdsn = int.from_bytes(bhs[24:28], 'big')

            def hdr(opc, flags, dlen):
                r = bytearray(48)
                r[0] = opc
                r[1] = flags
                r[5:8] = dlen.to_bytes(3, 'big')
                r[16:20] = itt
                r[24:28] = statsn.to_bytes(4, 'big')
                r[28:32] = (cmdsn + 1).to_bytes(4, 'big')
                r[32:36] = (cmdsn + 64).to_bytes(4, 'big')
                return r
            if op == 0x03:  # login
                c.sendall(login_answer(bhs, data, statsn))
            elif op == 0x01:  # SCSI command
                cdb = bhs[32:48]
                edtl = int.from_bytes(bhs[20:24], 'big')
                statsn += 1
                if cdb[0] == 0x12:  # INQUIRY: a disk
                    inq = bytearray(36)
                    inq[2] = 5
                    inq[3] = 2
                    inq[4] = 31
                    inq[8:36] = b'HOSTILE UPSTREAM        0001'
                    n = min(edtl, 36)
                    r = hdr(0x25, 0x81 | (0x02 if n < edtl else 0), n)  # F, S
                    if n < edtl:
                        r[44:48] = (edtl - n).to_bytes(4, 'big')
                    c.sendall(bytes(r) + pad(bytes(inq[:n])))
                elif cdb[0] == 0x28:  # READ(10): the marker
                    d = (MARKER * (edtl // len(MARKER) + 1))[:edtl]
                    c.sendall(bytes(hdr(0x25, 0x81, len(d))) + pad(d))
                elif cdb[0] == 0xc2:
                    pass  # never answered
                elif cdb[0] == 0x00:
                    c.sendall(bytes(hdr(0x21, 0x80, 0)))
                else:
                    sense = bytearray(18)
                    sense[0] = 0x70
                    sense[2] = 0x05
                    sense[7] = 10
                    sense[12] = 0x20
                    d = len(sense).to_bytes(2, 'big') + bytes(sense)
                    r = hdr(0x21, 0x80, len(d))
                    r[3] = 0x02  # CHECK CONDITION, no U/O flag
                    c.sendall(bytes(r) + pad(d))
            elif op == 0x02:  # task management: FUNCTION COMPLETE
                statsn += 1
                r = hdr(0x22, 0x80, 0)
                r[28:32] = cmdsn.to_bytes(4, 'big')
                c.sendall(bytes(r))
            elif op == 0x06:  # logout
                c.sendall(bytes(hdr(0x26, 0x80, 0)))
                return
            elif op == 0x00 and itt != b'\xff\xff\xff\xff':  # NOP-Out
                r = hdr(0x20, 0x80, 0)
                r[20:24] = b'\xff\xff\xff\xff'
                c.sendall(bytes(r))
    except (EOFError, ConnectionError):
        pass
    finally:
        c.close()


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', int(sys.argv[1])))
    ls.listen(8)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
