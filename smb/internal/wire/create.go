package wire

import (
	"encoding/binary"
	"errors"
)

// Access mask bits (MS-SMB2 2.2.13.1.1 for files and pipes, 2.2.13.1.2 for
// directories, where the low bits have other names).
const (
	FileReadData         uint32 = 0x00000001
	FileWriteData        uint32 = 0x00000002
	FileAppendData       uint32 = 0x00000004
	FileReadEA           uint32 = 0x00000008
	FileWriteEA          uint32 = 0x00000010
	FileExecute          uint32 = 0x00000020
	FileDeleteChild      uint32 = 0x00000040
	FileReadAttributes   uint32 = 0x00000080
	FileWriteAttributes  uint32 = 0x00000100
	AccessDelete         uint32 = 0x00010000
	ReadControl          uint32 = 0x00020000
	WriteDAC             uint32 = 0x00040000
	WriteOwner           uint32 = 0x00080000
	Synchronize          uint32 = 0x00100000
	AccessSystemSecurity uint32 = 0x01000000
	MaximumAllowed       uint32 = 0x02000000
	GenericAll           uint32 = 0x10000000
	GenericExecute       uint32 = 0x20000000
	GenericWrite         uint32 = 0x40000000
	GenericRead          uint32 = 0x80000000

	// Directory names of the low bits (2.2.13.1.2).
	FileListDirectory   = FileReadData
	FileAddFile         = FileWriteData
	FileAddSubdirectory = FileAppendData
	FileTraverse        = FileExecute
)

// ShareAccess bits (MS-SMB2 2.2.13).
const (
	ShareRead   uint32 = 0x00000001
	ShareWrite  uint32 = 0x00000002
	ShareDelete uint32 = 0x00000004
)

// CreateDisposition values (MS-SMB2 2.2.13): what to do when the file
// exists or does not.
const (
	FileSupersede   uint32 = 0 // replace if it exists, else create
	FileOpen        uint32 = 1 // open if it exists, else fail
	FileCreate      uint32 = 2 // fail if it exists, else create
	FileOpenIf      uint32 = 3 // open if it exists, else create
	FileOverwrite   uint32 = 4 // overwrite if it exists, else fail
	FileOverwriteIf uint32 = 5 // overwrite if it exists, else create
)

// CreateOptions bits (MS-SMB2 2.2.13).
const (
	OptDirectoryFile           uint32 = 0x00000001
	OptWriteThrough            uint32 = 0x00000002
	OptSequentialOnly          uint32 = 0x00000004
	OptNoIntermediateBuffering uint32 = 0x00000008
	OptSynchronousIOAlert      uint32 = 0x00000010
	OptSynchronousIONonalert   uint32 = 0x00000020
	OptNonDirectoryFile        uint32 = 0x00000040
	OptCompleteIfOplocked      uint32 = 0x00000100
	OptNoEAKnowledge           uint32 = 0x00000200
	OptOpenRemoteInstance      uint32 = 0x00000400
	OptRandomAccess            uint32 = 0x00000800
	OptDeleteOnClose           uint32 = 0x00001000
	OptOpenByFileID            uint32 = 0x00002000
	OptOpenForBackupIntent     uint32 = 0x00004000
	OptNoCompression           uint32 = 0x00008000
	OptOpenRequiringOplock     uint32 = 0x00010000
	OptDisallowExclusive       uint32 = 0x00020000
	OptReserveOpfilter         uint32 = 0x00100000
	OptOpenReparsePoint        uint32 = 0x00200000
	OptOpenNoRecall            uint32 = 0x00400000
	OptOpenForFreeSpaceQuery   uint32 = 0x00800000
)

// File attributes (MS-FSCC 2.6).
const (
	AttrReadOnly          uint32 = 0x00000001
	AttrHidden            uint32 = 0x00000002
	AttrSystem            uint32 = 0x00000004
	AttrDirectory         uint32 = 0x00000010
	AttrArchive           uint32 = 0x00000020
	AttrNormal            uint32 = 0x00000080
	AttrTemporary         uint32 = 0x00000100
	AttrSparseFile        uint32 = 0x00000200
	AttrReparsePoint      uint32 = 0x00000400
	AttrCompressed        uint32 = 0x00000800
	AttrOffline           uint32 = 0x00001000
	AttrNotContentIndexed uint32 = 0x00002000
	AttrEncrypted         uint32 = 0x00004000
	AttrIntegrityStream   uint32 = 0x00008000
	AttrNoScrubData       uint32 = 0x00020000
)

// Oplock levels (MS-SMB2 2.2.13 RequestedOplockLevel, 2.2.14 OplockLevel).
const (
	OplockNone      uint8 = 0x00
	OplockII        uint8 = 0x01
	OplockExclusive uint8 = 0x08
	OplockBatch     uint8 = 0x09
	OplockLease     uint8 = 0xFF
)

// Impersonation levels (MS-SMB2 2.2.13). Clients send
// ImpersonationImpersonation.
const (
	ImpersonationAnonymous      uint32 = 0
	ImpersonationIdentification uint32 = 1
	ImpersonationImpersonation  uint32 = 2
	ImpersonationDelegate       uint32 = 3
)

// CreateAction values of a CREATE response (MS-SMB2 2.2.14).
const (
	FileSuperseded  uint32 = 0
	FileOpened      uint32 = 1
	FileCreated     uint32 = 2
	FileOverwritten uint32 = 3
)

// CreateFlagReparsePoint is the CREATE response flag
// SMB2_CREATE_FLAG_REPARSEPOINT (3.1.1 only): the open is of a reparse
// point.
const CreateFlagReparsePoint uint8 = 0x01

// DHandleFlagPersistent is SMB2_DHANDLE_FLAG_PERSISTENT (MS-SMB2
// 2.2.13.2.11, 2.2.13.2.12, 2.2.14.2.12).
const DHandleFlagPersistent uint32 = 0x00000002

// Create context names (MS-SMB2 2.2.13.2, 2.2.14.2).
const (
	ContextDurableV2Request   = "DH2Q" // SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 and its response
	ContextDurableV2Reconnect = "DH2C" // SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2
	ContextQueryMaximalAccess = "MxAc" // SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST/RESPONSE
	ContextQueryOnDiskID      = "QFid" // SMB2_CREATE_QUERY_ON_DISK_ID
	ContextRequestLease       = "RqLs" // SMB2_CREATE_REQUEST_LEASE(_V2) and its response
)

const (
	createRequestBodySize  = 56 // without the variable Buffer; StructureSize 57
	createResponseBodySize = 88 // StructureSize 89
	createContextHeader    = 16 // Next, NameOffset, NameLength, Reserved, DataOffset, DataLength
	// maxCreateContexts bounds the contexts a response may carry; servers
	// send a handful.
	maxCreateContexts = 64
)

// MaxNameBytes is the longest UTF-16LE name, in bytes, that the 16-bit
// NameLength of CREATE and FileNameLength of QUERY_DIRECTORY can describe.
const MaxNameBytes = 0xFFFE

// ErrNameTooLong is returned by CheckName.
var ErrNameTooLong = errors.New("name longer than an SMB2 16-bit length field allows")

// CheckName reports whether name fits a 16-bit SMB2 name length once
// encoded as UTF-16LE. The encoders of CREATE and QUERY_DIRECTORY panic on
// a longer name, so callers check names they did not build.
func CheckName(name string) error {
	if utf16Len(name) > MaxNameBytes {
		return ErrNameTooLong
	}
	return nil
}

// utf16Len is the length in bytes of s encoded by AppendUTF16.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 4
		} else {
			n += 2
		}
	}
	return n
}

// CreateContext is one SMB2_CREATE_CONTEXT (MS-SMB2 2.2.13.2): a tag such
// as "DH2Q" and its data. In a decoded response Data aliases the message.
type CreateContext struct {
	Name string
	Data []byte
}

// CreateRequest is the SMB2 CREATE request (MS-SMB2 2.2.13).
type CreateRequest struct {
	// OplockLevel is RequestedOplockLevel, an OplockXxx value.
	OplockLevel uint8
	// ImpersonationLevel is normally ImpersonationImpersonation.
	ImpersonationLevel uint32
	// DesiredAccess is an access mask (FileReadData, GenericRead, ...).
	DesiredAccess uint32
	// FileAttributes are AttrXxx bits for a file being created.
	FileAttributes uint32
	// ShareAccess are ShareXxx bits.
	ShareAccess uint32
	// CreateDisposition is FileOpen, FileCreate, ...
	CreateDisposition uint32
	// CreateOptions are OptXxx bits.
	CreateOptions uint32
	// Name is the path relative to the share, with `\` separators and no
	// leading separator (MS-FSCC 2.1.5); "" opens the share's root. The
	// caller converts from slash paths.
	Name string
	// Contexts are sent in this order.
	Contexts []CreateContext
}

// Append appends the CREATE request body to msg, which holds exactly the
// header. The name starts right after the fixed part (offset 120, which is
// 8-byte aligned) and the create contexts at the next multiple of 8
// (2.2.13). It panics if Name is longer than MaxNameBytes in UTF-16 (see
// CheckName).
func (r *CreateRequest) Append(msg []byte) []byte {
	nameLen := utf16Len(r.Name)
	if nameLen > MaxNameBytes {
		panic("wire: CREATE name longer than MaxNameBytes")
	}
	le := binary.LittleEndian
	start := len(msg)
	msg = extendZero(msg, createRequestBodySize)
	b := msg[start:]
	le.PutUint16(b[0:], 57)
	// b[2] SecurityFlags, b[8:16] SmbCreateFlags, b[16:24] Reserved: 0.
	b[3] = r.OplockLevel
	le.PutUint32(b[4:], r.ImpersonationLevel)
	le.PutUint32(b[24:], r.DesiredAccess)
	le.PutUint32(b[28:], r.FileAttributes)
	le.PutUint32(b[32:], r.ShareAccess)
	le.PutUint32(b[36:], r.CreateDisposition)
	le.PutUint32(b[40:], r.CreateOptions)
	// NameOffset points at the Buffer even for an empty name: Windows
	// rejects a zero NameOffset.
	le.PutUint16(b[44:], uint16(len(msg)))
	le.PutUint16(b[46:], uint16(nameLen))
	msg = AppendUTF16(msg, r.Name)
	if len(r.Contexts) > 0 {
		msg = padMsg8(msg)
		ctxStart := len(msg)
		msg = appendCreateContexts(msg, r.Contexts)
		b = msg[start:]
		le.PutUint32(b[48:], uint32(ctxStart))
		le.PutUint32(b[52:], uint32(len(msg)-ctxStart))
	}
	if len(msg) == start+createRequestBodySize {
		// "In the request, the Buffer field MUST be at least one byte in
		// length" (2.2.13); Samba enforces it.
		msg = append(msg, 0)
	}
	return msg
}

// appendCreateContexts appends a create context chain (2.2.13.2) to msg,
// whose length must be a multiple of 8. Every element starts 8-byte
// aligned, its name at offset 16 and its data at the next multiple of 8;
// Next of the last element is 0 and no padding follows it.
func appendCreateContexts(msg []byte, ctxs []CreateContext) []byte {
	le := binary.LittleEndian
	for i, c := range ctxs {
		el := len(msg)
		msg = extendZero(msg, createContextHeader)
		msg = append(msg, c.Name...)
		le.PutUint16(msg[el+4:], createContextHeader)
		le.PutUint16(msg[el+6:], uint16(len(c.Name)))
		if len(c.Data) > 0 {
			msg = padMsg8(msg)
			le.PutUint16(msg[el+10:], uint16(len(msg)-el))
			le.PutUint32(msg[el+12:], uint32(len(c.Data)))
			msg = append(msg, c.Data...)
		}
		if i < len(ctxs)-1 {
			msg = padMsg8(msg)
			le.PutUint32(msg[el:], uint32(len(msg)-el))
		}
	}
	return msg
}

// DurableV2Request is the "DH2Q" context (MS-SMB2 2.2.13.2.11) asking for
// a durable, or with persistent a persistent, handle. A timeout of 0 lets
// the server choose; createGUID is a fresh GUID kept for a reconnect.
func DurableV2Request(timeoutMillis uint32, persistent bool, createGUID [16]byte) CreateContext {
	d := make([]byte, 32)
	binary.LittleEndian.PutUint32(d[0:], timeoutMillis)
	if persistent {
		binary.LittleEndian.PutUint32(d[4:], DHandleFlagPersistent)
	}
	// d[8:16] Reserved.
	copy(d[16:], createGUID[:])
	return CreateContext{Name: ContextDurableV2Request, Data: d}
}

// DurableV2Reconnect is the "DH2C" context (MS-SMB2 2.2.13.2.12) that
// reestablishes the durable open fid, created with createGUID, after a
// reconnect.
func DurableV2Reconnect(fid FileID, createGUID [16]byte, persistent bool) CreateContext {
	d := make([]byte, 36)
	fid.put(d[0:])
	copy(d[16:], createGUID[:])
	if persistent {
		binary.LittleEndian.PutUint32(d[32:], DHandleFlagPersistent)
	}
	return CreateContext{Name: ContextDurableV2Reconnect, Data: d}
}

// Lease states (MS-SMB2 2.2.13.2.8): what the client may cache.
const (
	LeaseRead   uint32 = 0x01 // SMB2_LEASE_READ_CACHING
	LeaseHandle uint32 = 0x02 // SMB2_LEASE_HANDLE_CACHING
	LeaseWrite  uint32 = 0x04 // SMB2_LEASE_WRITE_CACHING
)

// RequestLeaseV2 is the "RqLs" context in its version 2 form (MS-SMB2
// 2.2.13.2.10) asking for a lease of state under key (no parent).
func RequestLeaseV2(key [16]byte, state uint32) CreateContext {
	d := make([]byte, 52)
	copy(d[0:16], key[:])
	binary.LittleEndian.PutUint32(d[16:], state)
	// Flags 0, LeaseDuration 0, ParentLeaseKey zero, Epoch 0.
	return CreateContext{Name: ContextRequestLease, Data: d}
}

// LeaseResponse is the data of a "RqLs" response context (MS-SMB2
// 2.2.14.2.10 or, version 2, 2.2.14.2.11): the lease granted.
type LeaseResponse struct {
	Key   [16]byte
	State uint32
	// Epoch is the lease's epoch (version 2 only).
	Epoch uint16
}

// ParseLeaseResponse decodes a "RqLs" response context's data: 32 bytes
// (version 1) or 52 (version 2); anything else is malformed.
func ParseLeaseResponse(data []byte) (LeaseResponse, error) {
	var r LeaseResponse
	if len(data) != 32 && len(data) != 52 {
		return r, malformed("lease response context of %d bytes", len(data))
	}
	copy(r.Key[:], data[0:16])
	r.State = binary.LittleEndian.Uint32(data[16:])
	if len(data) == 52 {
		r.Epoch = binary.LittleEndian.Uint16(data[48:])
	}
	return r, nil
}

// QueryMaximalAccessRequest is the "MxAc" context (MS-SMB2 2.2.13.2.5)
// with empty data: the response carries the caller's maximal access.
func QueryMaximalAccessRequest() CreateContext {
	return CreateContext{Name: ContextQueryMaximalAccess}
}

// QueryOnDiskIDRequest is the "QFid" context (MS-SMB2 2.2.13.2.9), whose
// data is empty: the response carries the on-disk file and volume ids.
func QueryOnDiskIDRequest() CreateContext {
	return CreateContext{Name: ContextQueryOnDiskID}
}

// DurableV2Response is the data of a "DH2Q" response context (MS-SMB2
// 2.2.14.2.12): the handle is durable.
type DurableV2Response struct {
	// Timeout is how long, in milliseconds, the server keeps the open
	// after a disconnect.
	Timeout uint32
	// Flags has DHandleFlagPersistent if the handle is persistent.
	Flags uint32
}

// CreateResponse is the SMB2 CREATE response (MS-SMB2 2.2.14).
type CreateResponse struct {
	OplockLevel uint8
	// Flags may have CreateFlagReparsePoint.
	Flags uint8
	// CreateAction is FileOpened, FileCreated, ...
	CreateAction uint32
	// Times are FILETIMEs.
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	AllocationSize, EndOfFile                               uint64
	FileAttributes                                          uint32
	FileID                                                  FileID
	// Contexts are the response's create contexts in wire order; their
	// Data alias the message.
	Contexts []CreateContext
	// DurableV2 is set if the server answered a "DH2Q" context.
	DurableV2 *DurableV2Response
}

// Context returns the data of the first context named name, and whether
// there is one.
func (r *CreateResponse) Context(name string) ([]byte, bool) {
	for _, c := range r.Contexts {
		if c.Name == name {
			return c.Data, true
		}
	}
	return nil, false
}

// ParseCreateResponse decodes a CREATE response message. The create
// context chain is walked strictly: it must lie inside the message after
// the fixed part, start 8-byte aligned, and every Next must be a multiple
// of 8 that moves forward, with each name and data inside its element.
func ParseCreateResponse(msg []byte) (*CreateResponse, error) {
	b, err := bodyAt(msg, 89, createResponseBodySize, "CREATE response")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	r := &CreateResponse{
		OplockLevel:    b[2],
		Flags:          b[3],
		CreateAction:   le.Uint32(b[4:]),
		CreationTime:   le.Uint64(b[8:]),
		LastAccessTime: le.Uint64(b[16:]),
		LastWriteTime:  le.Uint64(b[24:]),
		ChangeTime:     le.Uint64(b[32:]),
		AllocationSize: le.Uint64(b[40:]),
		EndOfFile:      le.Uint64(b[48:]),
		FileAttributes: le.Uint32(b[56:]),
		// b[60:64] Reserved2 is ignored: Windows leaves garbage there.
		FileID: getFileID(b[64:]),
	}
	off, n := le.Uint32(b[80:]), le.Uint32(b[84:])
	if n == 0 {
		return r, nil
	}
	if off < HeaderSize+createResponseBodySize || off%8 != 0 {
		return nil, malformed("CREATE response contexts at offset %d", off)
	}
	chain, err := field(msg, off, n, "CREATE response contexts")
	if err != nil {
		return nil, err
	}
	if r.Contexts, err = parseCreateContexts(chain, nil); err != nil {
		return nil, err
	}
	for _, c := range r.Contexts {
		if c.Name == ContextDurableV2Request && r.DurableV2 == nil {
			if len(c.Data) < 8 {
				return nil, malformed("DH2Q response of %d bytes", len(c.Data))
			}
			r.DurableV2 = &DurableV2Response{Timeout: le.Uint32(c.Data), Flags: le.Uint32(c.Data[4:])}
		}
	}
	return r, nil
}

// parseCreateContexts decodes a create context chain (2.2.13.2) that
// fills chain exactly, appending to dst. Names and data alias chain.
func parseCreateContexts(chain []byte, dst []CreateContext) ([]CreateContext, error) {
	le := binary.LittleEndian
	pos := 0
	for count := 0; ; count++ {
		if count == maxCreateContexts {
			return nil, malformed("more than %d create contexts", maxCreateContexts)
		}
		rest := chain[pos:]
		if len(rest) < createContextHeader {
			return nil, malformed("create context of %d bytes", len(rest))
		}
		next := le.Uint32(rest)
		nameOff, nameLen := uint32(le.Uint16(rest[4:])), uint32(le.Uint16(rest[6:]))
		dataOff, dataLen := uint32(le.Uint16(rest[10:])), le.Uint32(rest[12:])
		el := rest
		if next != 0 {
			// The next element needs at least its fixed part.
			if next%8 != 0 || next < createContextHeader || uint64(next)+createContextHeader > uint64(len(rest)) {
				return nil, malformed("create context Next %d with %d bytes left", next, len(rest))
			}
			el = rest[:next]
		}
		if nameLen == 0 || nameOff < createContextHeader || uint64(nameOff)+uint64(nameLen) > uint64(len(el)) {
			return nil, malformed("create context name at %d, length %d, in %d bytes", nameOff, nameLen, len(el))
		}
		c := CreateContext{Name: string(el[nameOff : nameOff+nameLen])}
		if dataLen != 0 {
			if dataOff < createContextHeader || uint64(dataOff)+uint64(dataLen) > uint64(len(el)) {
				return nil, malformed("create context data at %d, length %d, in %d bytes", dataOff, dataLen, len(el))
			}
			c.Data = el[dataOff : dataOff+dataLen]
		}
		dst = append(dst, c)
		if next == 0 {
			return dst, nil
		}
		pos += int(next)
	}
}

// MaximalAccessResponse is the data of an "MxAc" response context (MS-SMB2
// 2.2.14.2.5).
type MaximalAccessResponse struct {
	// QueryStatus is the NTSTATUS of the query; MaximalAccess is valid
	// only if it is 0.
	QueryStatus uint32
	// MaximalAccess is the access mask the session's user may be granted.
	MaximalAccess uint32
}

// ParseMaximalAccessResponse decodes the data of an "MxAc" response
// context.
func ParseMaximalAccessResponse(data []byte) (MaximalAccessResponse, error) {
	if len(data) < 8 {
		return MaximalAccessResponse{}, malformed("MxAc response of %d bytes", len(data))
	}
	return MaximalAccessResponse{
		QueryStatus:   binary.LittleEndian.Uint32(data),
		MaximalAccess: binary.LittleEndian.Uint32(data[4:]),
	}, nil
}

// OnDiskIDResponse is the data of a "QFid" response context (MS-SMB2
// 2.2.14.2.9).
type OnDiskIDResponse struct {
	DiskFileID uint64
	VolumeID   uint64
}

// ParseOnDiskIDResponse decodes the data of a "QFid" response context:
// DiskFileId, VolumeId and 16 reserved bytes.
func ParseOnDiskIDResponse(data []byte) (OnDiskIDResponse, error) {
	if len(data) < 32 {
		return OnDiskIDResponse{}, malformed("QFid response of %d bytes", len(data))
	}
	return OnDiskIDResponse{
		DiskFileID: binary.LittleEndian.Uint64(data),
		VolumeID:   binary.LittleEndian.Uint64(data[8:]),
	}, nil
}

// extendZero appends n zero bytes to b. The append of make is compiled
// without a temporary, so this allocates only if b must grow.
func extendZero(b []byte, n int) []byte {
	return append(b, make([]byte, n)...)
}

// padMsg8 appends zeros until len(msg), an offset from the start of the
// header, is a multiple of 8.
func padMsg8(msg []byte) []byte {
	return extendZero(msg, (8-len(msg)%8)%8)
}
