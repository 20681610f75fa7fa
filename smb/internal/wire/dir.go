package wire

import "encoding/binary"

// QUERY_DIRECTORY flags (MS-SMB2 2.2.33).
const (
	QueryDirRestartScans      uint8 = 0x01 // SMB2_RESTART_SCANS
	QueryDirReturnSingleEntry uint8 = 0x02 // SMB2_RETURN_SINGLE_ENTRY
	QueryDirIndexSpecified    uint8 = 0x04 // SMB2_INDEX_SPECIFIED
	QueryDirReopen            uint8 = 0x10 // SMB2_REOPEN
)

// Directory information classes (MS-FSCC 2.4) for QUERY_DIRECTORY.
const (
	FileDirectoryInformation       uint8 = 0x01
	FileFullDirectoryInformation   uint8 = 0x02
	FileBothDirectoryInformation   uint8 = 0x03
	FileNamesInformation           uint8 = 0x0C
	FileIdBothDirectoryInformation uint8 = 0x25
	FileIdFullDirectoryInformation uint8 = 0x26
)

const (
	queryDirRequestBodySize  = 32 // StructureSize 33
	queryDirResponseBodySize = 8  // StructureSize 9
)

// QueryDirectoryRequest is the SMB2 QUERY_DIRECTORY request (MS-SMB2
// 2.2.33).
type QueryDirectoryRequest struct {
	// InfoClass is a directory information class such as
	// FileIdBothDirectoryInformation.
	InfoClass uint8
	// Flags are QueryDirXxx bits.
	Flags uint8
	// FileIndex is where to resume with QueryDirIndexSpecified.
	FileIndex uint32
	// FileID is an open of the directory.
	FileID FileID
	// Pattern is the search pattern; "" means "*".
	Pattern string
	// OutputBufferLength is the most the server may return.
	OutputBufferLength uint32
}

// Append appends the QUERY_DIRECTORY request body and its pattern to msg,
// which holds exactly the header. An empty Pattern is sent as "*", so the
// Buffer is never empty (the StructureSize is odd). It panics if Pattern
// is longer than MaxNameBytes in UTF-16 (see CheckName).
func (r *QueryDirectoryRequest) Append(msg []byte) []byte {
	pattern := r.Pattern
	if pattern == "" {
		pattern = "*"
	}
	n := utf16Len(pattern)
	if n > MaxNameBytes {
		panic("wire: QUERY_DIRECTORY pattern longer than MaxNameBytes")
	}
	start := len(msg)
	msg = extendZero(msg, queryDirRequestBodySize)
	b := msg[start:]
	le := binary.LittleEndian
	le.PutUint16(b[0:], 33)
	b[2] = r.InfoClass
	b[3] = r.Flags
	le.PutUint32(b[4:], r.FileIndex)
	r.FileID.put(b[8:])
	le.PutUint16(b[24:], uint16(len(msg)))
	le.PutUint16(b[26:], uint16(n))
	le.PutUint32(b[28:], r.OutputBufferLength)
	return AppendUTF16(msg, pattern)
}

// ParseQueryDirectoryResponse decodes a QUERY_DIRECTORY response message
// (MS-SMB2 2.2.34) and returns its output buffer, which aliases msg; decode
// it with ParseDirEntries. An empty buffer is nil.
func ParseQueryDirectoryResponse(msg []byte) ([]byte, error) {
	return outputBuffer(msg, "QUERY_DIRECTORY response")
}

// outputBuffer decodes the StructureSize 9 body shared by QUERY_DIRECTORY
// and QUERY_INFO responses: OutputBufferOffset (2 bytes) and
// OutputBufferLength (4 bytes), the buffer after the fixed part.
func outputBuffer(msg []byte, what string) ([]byte, error) {
	b, err := bodyAt(msg, 9, queryDirResponseBodySize, what)
	if err != nil {
		return nil, err
	}
	off := uint32(binary.LittleEndian.Uint16(b[2:]))
	n := binary.LittleEndian.Uint32(b[4:])
	if n == 0 {
		return nil, nil
	}
	if off < HeaderSize+queryDirResponseBodySize {
		return nil, malformed("%s buffer at offset %d overlaps the fixed part", what, off)
	}
	return field(msg, off, n, what+" buffer")
}

// DirEntry is one entry of a directory listing (MS-FSCC 2.4). Fields the
// information class lacks are zero.
type DirEntry struct {
	Name      string
	FileIndex uint32
	// Times are FILETIMEs.
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	EndOfFile, AllocationSize                               uint64
	Attributes                                              uint32
	// FileID is the 8-byte file id of the Id classes.
	FileID uint64
	// ShortName is the 8.3 name of the Both classes, often empty.
	ShortName string
}

// dirLayout is where an information class keeps its variable fields.
type dirLayout struct {
	fixed     int // offset of FileName, the size of the fixed part
	shortName int // offset of ShortNameLength, or 0
	fileID    int // offset of FileId, or 0
}

// dirLayoutOf gives the layouts of MS-FSCC 2.4.10 (FileDirectoryInformation),
// 2.4.14 (Full), 2.4.8 (Both), 2.4.21 (IdBoth) and 2.4.23 (IdFull). All
// share NextEntryOffset, FileIndex, the four times, EndOfFile,
// AllocationSize, FileAttributes and FileNameLength at offsets 0..63.
func dirLayoutOf(class uint8) (dirLayout, bool) {
	switch class {
	case FileDirectoryInformation:
		return dirLayout{fixed: 64}, true
	case FileFullDirectoryInformation:
		return dirLayout{fixed: 68}, true // + EaSize
	case FileBothDirectoryInformation:
		return dirLayout{fixed: 94, shortName: 68}, true // + EaSize, ShortNameLength, Reserved1, ShortName[24]
	case FileIdBothDirectoryInformation:
		return dirLayout{fixed: 104, shortName: 68, fileID: 96}, true // + Reserved2, FileId
	case FileIdFullDirectoryInformation:
		return dirLayout{fixed: 80, fileID: 72}, true // + EaSize, Reserved, FileId
	}
	return dirLayout{}, false
}

// ParseDirEntries decodes the entries of a QUERY_DIRECTORY output buffer
// of class FileDirectoryInformation, FileFullDirectoryInformation,
// FileBothDirectoryInformation, FileIdBothDirectoryInformation or
// FileIdFullDirectoryInformation, appending them to dst. The chain is
// strict: every NextEntryOffset is a multiple of 8 (MS-FSCC 2.4: entries
// are 8-byte aligned) that covers its entry and leaves room for the next,
// and every name lies inside its entry, so the number of entries is at
// most len(buf)/64.
func ParseDirEntries(buf []byte, infoClass uint8, dst []DirEntry) ([]DirEntry, error) {
	lay, ok := dirLayoutOf(infoClass)
	if !ok {
		return nil, malformed("directory information class %d is not supported", infoClass)
	}
	le := binary.LittleEndian
	for len(buf) > 0 {
		if len(buf) < lay.fixed {
			return nil, malformed("directory entry of %d bytes, class %d needs %d", len(buf), infoClass, lay.fixed)
		}
		next := le.Uint32(buf)
		el := buf
		if next != 0 {
			// The entry must hold its fixed part and leave room for the
			// next one's.
			if next%8 != 0 || next < uint32(lay.fixed) || uint64(next)+uint64(lay.fixed) > uint64(len(buf)) {
				return nil, malformed("directory NextEntryOffset %d with %d bytes left", next, len(buf))
			}
			el = buf[:next]
		}
		nameLen := le.Uint32(el[60:])
		if uint64(lay.fixed)+uint64(nameLen) > uint64(len(el)) {
			return nil, malformed("directory entry name of %d bytes in a %d-byte entry", nameLen, len(el))
		}
		name, err := DecodeUTF16(el[lay.fixed : lay.fixed+int(nameLen)])
		if err != nil {
			return nil, err
		}
		e := DirEntry{
			Name:           name,
			FileIndex:      le.Uint32(el[4:]),
			CreationTime:   le.Uint64(el[8:]),
			LastAccessTime: le.Uint64(el[16:]),
			LastWriteTime:  le.Uint64(el[24:]),
			ChangeTime:     le.Uint64(el[32:]),
			EndOfFile:      le.Uint64(el[40:]),
			AllocationSize: le.Uint64(el[48:]),
			Attributes:     le.Uint32(el[56:]),
		}
		if lay.shortName != 0 {
			sn := int(el[lay.shortName])
			if sn > 24 {
				return nil, malformed("directory entry short name of %d bytes", sn)
			}
			if e.ShortName, err = DecodeUTF16(el[lay.shortName+2 : lay.shortName+2+sn]); err != nil {
				return nil, err
			}
		}
		if lay.fileID != 0 {
			e.FileID = le.Uint64(el[lay.fileID:])
		}
		dst = append(dst, e)
		if next == 0 {
			break
		}
		buf = buf[next:]
	}
	return dst, nil
}
