module github.com/smbkrb/smbkrb

go 1.26
