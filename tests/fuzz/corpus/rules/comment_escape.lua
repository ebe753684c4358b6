true
--[[
)