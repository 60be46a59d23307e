# 以接口代码为例

# 导入SDK

# 任务ID
job_id = "d6ef550c-49ec-11f0-845f-c6ee2c8e08e7"
sdk_stop_job(job_id)
