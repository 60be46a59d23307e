# 以接口代码为例

# 导入SDK

# 平台文件ID
id = "d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7"
job_info = sdk_get_job(id)
