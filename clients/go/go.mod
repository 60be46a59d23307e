module github.com/jobcenter/jobcenter/clients/go

go 1.26.0

require github.com/jobcenter/jobcenter/contracts v0.0.0-00010101000000-000000000000

replace github.com/jobcenter/jobcenter/contracts => ../../contracts
