# 以接口代码为例

# 导入SDK

# 获取项目列表
project_jobs = sdk_get_jobs()
