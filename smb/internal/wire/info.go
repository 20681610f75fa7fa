package wire

import "encoding/binary"

// InfoType values of QUERY_INFO and SET_INFO (MS-SMB2 2.2.37).
const (
	InfoTypeFile       uint8 = 0x01 // SMB2_0_INFO_FILE
	InfoTypeFileSystem uint8 = 0x02 // SMB2_0_INFO_FILESYSTEM
	InfoTypeSecurity   uint8 = 0x03 // SMB2_0_INFO_SECURITY
	InfoTypeQuota      uint8 = 0x04 // SMB2_0_INFO_QUOTA
)

// AdditionalInformation bits of a security query or set (MS-SMB2 2.2.37).
const (
	OwnerSecurityInformation uint32 = 0x00000001
	GroupSecurityInformation uint32 = 0x00000002
	DACLSecurityInformation  uint32 = 0x00000004
	SACLSecurityInformation  uint32 = 0x00000008
)

// QUERY_INFO Flags for InfoTypeQuota, and for FileFullEaInformation
// (MS-SMB2 2.2.37).
const (
	QueryInfoRestartScan       uint32 = 0x00000001 // SL_RESTART_SCAN
	QueryInfoReturnSingleEntry uint32 = 0x00000002 // SL_RETURN_SINGLE_ENTRY
	QueryInfoIndexSpecified    uint32 = 0x00000004 // SL_INDEX_SPECIFIED
)

// File information classes (MS-FSCC 2.4) for InfoTypeFile.
const (
	FileBasicInformation        uint8 = 4
	FileStandardInformation     uint8 = 5
	FileInternalInformation     uint8 = 6
	FileEaInformation           uint8 = 7
	FileRenameInformation       uint8 = 10
	FileDispositionInformation  uint8 = 13
	FilePositionInformation     uint8 = 14
	FileAllInformation          uint8 = 18
	FileAllocationInformation   uint8 = 19
	FileEndOfFileInformation    uint8 = 20
	FileNetworkOpenInformation  uint8 = 34
	FileAttributeTagInformation uint8 = 35
)

// File system information classes (MS-FSCC 2.5) for InfoTypeFileSystem.
const (
	FileFsVolumeInformation    uint8 = 1
	FileFsSizeInformation      uint8 = 3
	FileFsDeviceInformation    uint8 = 4
	FileFsAttributeInformation uint8 = 5
	FileFsFullSizeInformation  uint8 = 7
)

const (
	queryInfoRequestBodySize = 40 // StructureSize 41
	setInfoRequestBodySize   = 32 // StructureSize 33
)

// QueryInfoRequest is the SMB2 QUERY_INFO request (MS-SMB2 2.2.37).
type QueryInfoRequest struct {
	// InfoType is an InfoTypeXxx value and InfoClass a class of it; for
	// InfoTypeSecurity InfoClass is 0.
	InfoType  uint8
	InfoClass uint8
	// OutputBufferLength is the most the server may return.
	OutputBufferLength uint32
	// AdditionalInformation are the XxxSecurityInformation bits of a
	// security query.
	AdditionalInformation uint32
	// Flags are QueryInfoXxx bits.
	Flags  uint32
	FileID FileID
	// Input is the input buffer of quota and EA queries, usually empty.
	Input []byte
}

// Append appends the QUERY_INFO request body and Input to msg, which holds
// exactly the header. InputBufferOffset points just past the fixed part
// even when Input is empty, and an empty Input adds no byte: that is what
// Windows sends, and servers exempt QUERY_INFO from the rule that an odd
// StructureSize implies a non-empty Buffer.
func (r *QueryInfoRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = extendZero(msg, queryInfoRequestBodySize)
	b := msg[start:]
	le := binary.LittleEndian
	le.PutUint16(b[0:], 41)
	b[2] = r.InfoType
	b[3] = r.InfoClass
	le.PutUint32(b[4:], r.OutputBufferLength)
	le.PutUint16(b[8:], uint16(len(msg)))
	// b[10:12] Reserved.
	le.PutUint32(b[12:], uint32(len(r.Input)))
	le.PutUint32(b[16:], r.AdditionalInformation)
	le.PutUint32(b[20:], r.Flags)
	r.FileID.put(b[24:])
	return append(msg, r.Input...)
}

// ParseQueryInfoResponse decodes a QUERY_INFO response message (MS-SMB2
// 2.2.38) and returns its output buffer, which aliases msg. An empty
// buffer is nil.
func ParseQueryInfoResponse(msg []byte) ([]byte, error) {
	return outputBuffer(msg, "QUERY_INFO response")
}

// SetInfoRequest is the SMB2 SET_INFO request (MS-SMB2 2.2.39).
type SetInfoRequest struct {
	InfoType  uint8
	InfoClass uint8
	// AdditionalInformation are the XxxSecurityInformation bits of a
	// security set.
	AdditionalInformation uint32
	FileID                FileID
	// Buffer is the encoded information, e.g. from MarshalRenameInfo.
	Buffer []byte
}

// Append appends the SET_INFO request body and Buffer to msg, which holds
// exactly the header. An empty Buffer is sent as one zero byte, as the
// odd StructureSize requires.
func (r *SetInfoRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = extendZero(msg, setInfoRequestBodySize)
	b := msg[start:]
	le := binary.LittleEndian
	le.PutUint16(b[0:], 33)
	b[2] = r.InfoType
	b[3] = r.InfoClass
	le.PutUint32(b[4:], uint32(len(r.Buffer)))
	le.PutUint16(b[8:], uint16(len(msg)))
	// b[10:12] Reserved.
	le.PutUint32(b[12:], r.AdditionalInformation)
	r.FileID.put(b[16:])
	if len(r.Buffer) == 0 {
		return append(msg, 0)
	}
	return append(msg, r.Buffer...)
}

// ParseSetInfoResponse checks a SET_INFO response message (MS-SMB2 2.2.40).
func ParseSetInfoResponse(msg []byte) error {
	_, err := bodyAt(msg, 2, 2, "SET_INFO response")
	return err
}

// FileBasicInfo is FILE_BASIC_INFORMATION (MS-FSCC 2.4.7). In a SET_INFO a
// time of 0 leaves that time unchanged, and 0xFFFFFFFFFFFFFFFF stops the
// server from updating it for the rest of the open; FileAttributes of 0
// leaves the attributes unchanged.
type FileBasicInfo struct {
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	FileAttributes                                          uint32
}

// fileBasicInfoSize includes the 4 trailing reserved bytes.
const fileBasicInfoSize = 40

// Marshal encodes the 40-byte FILE_BASIC_INFORMATION.
func (i *FileBasicInfo) Marshal() []byte {
	b := make([]byte, fileBasicInfoSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], i.CreationTime)
	le.PutUint64(b[8:], i.LastAccessTime)
	le.PutUint64(b[16:], i.LastWriteTime)
	le.PutUint64(b[24:], i.ChangeTime)
	le.PutUint32(b[32:], i.FileAttributes)
	return b
}

// ParseFileBasicInfo decodes FILE_BASIC_INFORMATION. The trailing reserved
// field may be missing.
func ParseFileBasicInfo(b []byte) (FileBasicInfo, error) {
	if len(b) < 36 {
		return FileBasicInfo{}, malformed("FileBasicInformation of %d bytes", len(b))
	}
	le := binary.LittleEndian
	return FileBasicInfo{
		CreationTime:   le.Uint64(b[0:]),
		LastAccessTime: le.Uint64(b[8:]),
		LastWriteTime:  le.Uint64(b[16:]),
		ChangeTime:     le.Uint64(b[24:]),
		FileAttributes: le.Uint32(b[32:]),
	}, nil
}

// FileStandardInfo is FILE_STANDARD_INFORMATION (MS-FSCC 2.4,
// FileStandardInformation).
type FileStandardInfo struct {
	AllocationSize, EndOfFile uint64
	NumberOfLinks             uint32
	DeletePending, Directory  bool
}

// ParseFileStandardInfo decodes FILE_STANDARD_INFORMATION (24 bytes; the
// 2 trailing reserved bytes may be missing).
func ParseFileStandardInfo(b []byte) (FileStandardInfo, error) {
	if len(b) < 22 {
		return FileStandardInfo{}, malformed("FileStandardInformation of %d bytes", len(b))
	}
	le := binary.LittleEndian
	return FileStandardInfo{
		AllocationSize: le.Uint64(b[0:]),
		EndOfFile:      le.Uint64(b[8:]),
		NumberOfLinks:  le.Uint32(b[16:]),
		DeletePending:  b[20] != 0,
		Directory:      b[21] != 0,
	}, nil
}

// FileNetworkOpenInfo is FILE_NETWORK_OPEN_INFORMATION (MS-FSCC 2.4,
// FileNetworkOpenInformation): what a stat needs in one query.
type FileNetworkOpenInfo struct {
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	AllocationSize, EndOfFile                               uint64
	FileAttributes                                          uint32
}

// ParseFileNetworkOpenInfo decodes FILE_NETWORK_OPEN_INFORMATION (56
// bytes; the 4 trailing reserved bytes may be missing).
func ParseFileNetworkOpenInfo(b []byte) (FileNetworkOpenInfo, error) {
	if len(b) < 52 {
		return FileNetworkOpenInfo{}, malformed("FileNetworkOpenInformation of %d bytes", len(b))
	}
	le := binary.LittleEndian
	return FileNetworkOpenInfo{
		CreationTime:   le.Uint64(b[0:]),
		LastAccessTime: le.Uint64(b[8:]),
		LastWriteTime:  le.Uint64(b[16:]),
		ChangeTime:     le.Uint64(b[24:]),
		AllocationSize: le.Uint64(b[32:]),
		EndOfFile:      le.Uint64(b[40:]),
		FileAttributes: le.Uint32(b[48:]),
	}, nil
}

// ParseFileInternalInfo decodes FILE_INTERNAL_INFORMATION (MS-FSCC 2.4,
// FileInternalInformation): the 8-byte IndexNumber, the file's id on its
// volume.
func ParseFileInternalInfo(b []byte) (uint64, error) {
	if len(b) < 8 {
		return 0, malformed("FileInternalInformation of %d bytes", len(b))
	}
	return binary.LittleEndian.Uint64(b), nil
}

// renameInfoMinSize is sizeof(FILE_RENAME_INFORMATION) on 64-bit Windows:
// the fixed 20 bytes, one WCHAR of FileName and alignment. Windows rejects
// a shorter buffer, so short names are padded (the Padding of MS-FSCC's
// FILE_RENAME_INFORMATION_TYPE_2).
const renameInfoMinSize = 24

// MarshalRenameInfo encodes FILE_RENAME_INFORMATION_TYPE_2 (MS-FSCC
// 2.4.41.2, numbered 2.4.37.2 in older revisions), the SMB2 form:
// ReplaceIfExists, 7 reserved bytes, an 8-byte RootDirectory of 0,
// FileNameLength and the new name relative to the share root, with `\`
// separators.
func MarshalRenameInfo(replace bool, name string) []byte {
	n := utf16Len(name)
	size := max(20+n, renameInfoMinSize)
	b := make([]byte, 20, size)
	if replace {
		b[0] = 1
	}
	binary.LittleEndian.PutUint32(b[16:], uint32(n))
	b = AppendUTF16(b, name)
	return b[:size]
}

// MarshalEndOfFileInfo encodes FILE_END_OF_FILE_INFORMATION (MS-FSCC 2.4,
// FileEndOfFileInformation): truncate or extend the file to size.
func MarshalEndOfFileInfo(size uint64) []byte {
	return binary.LittleEndian.AppendUint64(make([]byte, 0, 8), size)
}

// MarshalAllocationInfo encodes FILE_ALLOCATION_INFORMATION (MS-FSCC 2.4,
// FileAllocationInformation).
func MarshalAllocationInfo(size uint64) []byte {
	return binary.LittleEndian.AppendUint64(make([]byte, 0, 8), size)
}

// MarshalDispositionInfo encodes FILE_DISPOSITION_INFORMATION (MS-FSCC
// 2.4, FileDispositionInformation): with deletePending, the file is deleted when
// its last open closes.
func MarshalDispositionInfo(deletePending bool) []byte {
	if deletePending {
		return []byte{1}
	}
	return []byte{0}
}

// FileFsSizeInfo is FILE_FS_SIZE_INFORMATION (MS-FSCC 2.5.8).
type FileFsSizeInfo struct {
	TotalAllocationUnits, AvailableAllocationUnits uint64
	SectorsPerAllocationUnit, BytesPerSector       uint32
}

// ParseFileFsSizeInfo decodes FILE_FS_SIZE_INFORMATION (24 bytes).
func ParseFileFsSizeInfo(b []byte) (FileFsSizeInfo, error) {
	if len(b) < 24 {
		return FileFsSizeInfo{}, malformed("FileFsSizeInformation of %d bytes", len(b))
	}
	le := binary.LittleEndian
	return FileFsSizeInfo{
		TotalAllocationUnits:     le.Uint64(b[0:]),
		AvailableAllocationUnits: le.Uint64(b[8:]),
		SectorsPerAllocationUnit: le.Uint32(b[16:]),
		BytesPerSector:           le.Uint32(b[20:]),
	}, nil
}

// FileFsFullSizeInfo is FILE_FS_FULL_SIZE_INFORMATION (MS-FSCC 2.5.4).
// The caller's quota limits the first two counts.
type FileFsFullSizeInfo struct {
	TotalAllocationUnits, CallerAvailableAllocationUnits, ActualAvailableAllocationUnits uint64
	SectorsPerAllocationUnit, BytesPerSector                                             uint32
}

// ParseFileFsFullSizeInfo decodes FILE_FS_FULL_SIZE_INFORMATION (32 bytes).
func ParseFileFsFullSizeInfo(b []byte) (FileFsFullSizeInfo, error) {
	if len(b) < 32 {
		return FileFsFullSizeInfo{}, malformed("FileFsFullSizeInformation of %d bytes", len(b))
	}
	le := binary.LittleEndian
	return FileFsFullSizeInfo{
		TotalAllocationUnits:           le.Uint64(b[0:]),
		CallerAvailableAllocationUnits: le.Uint64(b[8:]),
		ActualAvailableAllocationUnits: le.Uint64(b[16:]),
		SectorsPerAllocationUnit:       le.Uint32(b[24:]),
		BytesPerSector:                 le.Uint32(b[28:]),
	}, nil
}

// FileFsVolumeInfo is FILE_FS_VOLUME_INFORMATION (MS-FSCC 2.5.9).
type FileFsVolumeInfo struct {
	// CreationTime is a FILETIME.
	CreationTime    uint64
	SerialNumber    uint32
	SupportsObjects bool
	Label           string
}

// ParseFileFsVolumeInfo decodes FILE_FS_VOLUME_INFORMATION: 18 fixed bytes
// and a VolumeLabelLength-byte UTF-16 label inside b.
func ParseFileFsVolumeInfo(b []byte) (FileFsVolumeInfo, error) {
	if len(b) < 18 {
		return FileFsVolumeInfo{}, malformed("FileFsVolumeInformation of %d bytes", len(b))
	}
	le := binary.LittleEndian
	n := le.Uint32(b[12:])
	if uint64(n) > uint64(len(b)-18) {
		return FileFsVolumeInfo{}, malformed("volume label of %d bytes in %d", n, len(b)-18)
	}
	label, err := DecodeUTF16(b[18 : 18+int(n)])
	if err != nil {
		return FileFsVolumeInfo{}, err
	}
	return FileFsVolumeInfo{
		CreationTime:    le.Uint64(b[0:]),
		SerialNumber:    le.Uint32(b[8:]),
		SupportsObjects: b[16] != 0,
		Label:           label,
	}, nil
}
