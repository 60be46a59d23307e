# 导入SDK

##########################
# 周期任务
##########################

pid = "d1138d88-49ec-11f0-b168-c6ee2c8e08e7" # 目录ID
name = "SDK周期任务" # 任务名称
description = "SDK周期任务, description" # 任务描述
trigger = "interval" # 周期任务
seconds = 300 # 每1分钟执行一次
code = """log_print("周期任务", "INFO")""" # 任务执行代码

# 添加任务
job_info1 = sdk_add_job(pid, name, description, trigger, seconds=seconds, code=code)


##########################
# 定时任务
##########################
pid = "d1138d88-49ec-11f0-b168-c6ee2c8e08e7" # 目录ID
name = "SDK定时任务" # 任务名称
description = "SDK定时任务,description" # 任务描述
trigger = "date" # 定时任务
run_date = "2025-07-09 16:00:00" # 指定日期执行
code = """log_print("定时任务", "INFO")""" # 任务执行代码

# 添加任务
job_info2 = sdk_add_job(pid, name, description, trigger, run_date=run_date, code=code)
