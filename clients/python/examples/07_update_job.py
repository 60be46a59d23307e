# 以接口代码为例

# 导入SDK

##########################
# 周期任务
##########################

id = "5f4416e8-4a08-11f0-a3cd-e23276cb5279" # 目录ID
name = "新SDK周期任务" # 任务名称
description = "新SDK周期任务, description" # 任务描述
trigger = "interval" # 周期任务
seconds = 400 # 每1分钟执行一次
code = """print_log("周期任务", "INFO")""" # 任务执行代码

# 添加任务
job_info1 = sdk_update_job(id, name, description, trigger, seconds=seconds, code=code)


##########################
# 定时任务
##########################
id = "5f619a9c-4a08-11f0-a3cd-e23276cb5279" # 目录ID
name = "新SDK定时任务" # 任务名称
description = "新SDK定时任务,description" # 任务描述
trigger = "date" # 定时任务
run_date = "2025-06-27T16:00:00.000Z" # 指定日期执行
code = """print_log("定时任务", "INFO")""" # 任务执行代码

# 添加任务
job_info2 = sdk_update_job(id, name, description, trigger, run_date=run_date, code=code)
