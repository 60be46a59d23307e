module github.com/jobcenter/jobcenter/contracts

go 1.26.0
